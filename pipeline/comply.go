package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/compliance"
)

// comply checks the copy, repairs it once by removing the flagged terms, and
// flags the listing for review if it still breaks a blocking rule.
func (p *Pipeline) comply(ctx context.Context, st *state) error {
	st.Compliance, st.Rewrite.Copy = checkAndRepair(st.Checker, st.Rules, st.Rewrite.Copy)
	st.Compliance.SourceViolations = st.SourceViolations
	st.Compliance.Repaired = append(st.Repaired, st.Compliance.Repaired...)
	st.ReviewReasons = append(st.ReviewReasons, ReviewReasons(st.Compliance)...)
	return nil
}

func checkAndRepair(checker *compliance.Checker, rules listinggen.TextRules, cp listinggen.Copy) (listinggen.ComplianceReport, listinggen.Copy) {
	report := checker.Check(rules, cp)
	if report.OK {
		return report, cp
	}
	repaired, changes := repair(checker, cp, report)
	after := checker.Check(rules, repaired)
	after.Repaired = changes
	return after, repaired
}

// repair removes (or replaces with the suggested word) every flagged term.
func repair(checker *compliance.Checker, cp listinggen.Copy, report listinggen.ComplianceReport) (listinggen.Copy, []string) {
	var changes []string
	for _, v := range report.Violations {
		if v.Term != "" {
			if v.Suggestion != "" {
				changes = append(changes, fmt.Sprintf("%s: replaced %q with %q", v.Field, v.Term, v.Suggestion))
			} else {
				changes = append(changes, fmt.Sprintf("%s: removed %q", v.Field, v.Term))
			}
		}
	}
	// Removing a term leaves its surrounding spaces behind; fold them.
	clean := func(s string) string { return strings.Join(strings.Fields(checker.Clean(s)), " ") }
	var lines []string
	for _, line := range strings.Split(cp.Description, "\n") {
		lines = append(lines, clean(line))
	}
	out := listinggen.Copy{Title: clean(cp.Title), Description: strings.Join(lines, "\n")}
	for _, s := range cp.SellingPoints {
		if s = clean(s); s != "" {
			out.SellingPoints = append(out.SellingPoints, s)
		}
	}
	for _, s := range cp.Keywords {
		if s = clean(s); s != "" {
			out.Keywords = append(out.Keywords, s)
		}
	}
	return out, changes
}

// checkerFor is the checker and text rules for one shop and one product
// category: the built-in lists plus the tenant's and the shop's own words,
// judged for the shop's platform, the product's category and the licences
// the shop declares, and the platform's limits with the shop's overrides.
// The pipeline, the edit re-check and the check endpoint all use it, so they
// give the same verdicts.
func (p *Pipeline) checkerFor(ctx context.Context, tenantID string, shop *listinggen.Shop, category string) (*compliance.Checker, listinggen.TextRules, error) {
	var words []listinggen.WordRules
	if p.cfg.TenantWords != nil {
		w, err := p.cfg.TenantWords(ctx, tenantID)
		if err != nil {
			return nil, listinggen.TextRules{}, err
		}
		words = append(words, w)
	}
	words = append(words, shop.WordRules)
	scope := compliance.Scope{Platform: shop.Platform, Category: category, Licences: shop.Licences}
	return p.cfg.Checker.With(words...).In(scope), p.cfg.Checker.Rules(shop.Platform, shop.Rules), nil
}

// ValidateLicences reports the shop's licences that the compliance checker
// does not know, as EINVALID naming each.
func (p *Pipeline) ValidateLicences(shop *listinggen.Shop) error {
	return listinggen.Invalid(p.cfg.Checker.CheckLicences("licences", shop.Licences))
}

// ReviewReasons turns the blocking violations of a report into reasons a
// reviewer reads.
func ReviewReasons(r listinggen.ComplianceReport) []string {
	var out []string
	for _, v := range r.Violations {
		if v.Severity != listinggen.SeverityBlock {
			continue
		}
		if v.Term != "" {
			out = append(out, fmt.Sprintf("%s: %q breaks %s", v.Field, v.Term, v.Rule))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", v.Field, v.Rule))
		}
	}
	return out
}

// CheckCopy checks copy without storing anything: the check the comply step
// makes for this tenant and shop (shop may be nil: the platform's rules and
// the tenant's words only) and a product of this category (may be empty:
// unknown). With fix it also returns what the comply step would store: the
// copy after its one repair round and that copy's report.
func (p *Pipeline) CheckCopy(ctx context.Context, tenantID string, platform listinggen.Platform, shop *listinggen.Shop, category string, cp listinggen.Copy, fix bool) (report listinggen.ComplianceReport, fixed *listinggen.Copy, fixedReport *listinggen.ComplianceReport, err error) {
	if shop == nil {
		shop = &listinggen.Shop{TenantID: tenantID, Platform: platform}
	}
	checker, rules, err := p.checkerFor(ctx, tenantID, shop, category)
	if err != nil {
		return report, nil, nil, err
	}
	report = checker.Check(rules, cp)
	if !fix {
		return report, nil, nil, nil
	}
	after, repaired := checkAndRepair(checker, rules, cp)
	return report, &repaired, &after, nil
}
