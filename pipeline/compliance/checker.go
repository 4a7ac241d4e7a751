package compliance

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/listinggen/listinggen/platform"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/textnorm"
)

// Term is one entry of a word list.
type Term struct {
	Term       string              `json:"term"`
	Category   string              `json:"category"`
	Severity   listinggen.Severity `json:"severity,omitempty"`
	Suggestion string              `json:"suggestion,omitempty"`
}

type category struct {
	Rule     string              `json:"rule"`
	Severity listinggen.Severity `json:"severity"`
}

type wordList struct {
	Categories map[string]category `json:"categories"`
	Terms      []Term              `json:"terms"`
	Allow      []string            `json:"allow"`
}

// Checker checks copy against platform profiles and word lists. It is
// immutable after New and safe for concurrent use.
type Checker struct {
	categories map[string]category
	terms      []Term
	allow      []string
	matcher    *Matcher
	derivedCache
}

// New loads the embedded profiles and word lists.
func New() (*Checker, error) {
	if _, err := platform.Profiles(); err != nil {
		return nil, err
	}
	b, err := dataFS.ReadFile("data/terms.json")
	if err != nil {
		return nil, err
	}
	var wl wordList
	if err := json.Unmarshal(b, &wl); err != nil {
		return nil, fmt.Errorf("terms.json: %w", err)
	}
	c := &Checker{categories: wl.Categories}
	c.derived = map[string]*Checker{}
	wl.Categories[customCategory] = category{Rule: "the seller's own word list (tenant or shop)", Severity: listinggen.SeverityBlock}
	for _, t := range wl.Terms {
		cat, ok := wl.Categories[t.Category]
		if !ok {
			return nil, fmt.Errorf("terms.json: term %q has unknown category %q", t.Term, t.Category)
		}
		if t.Severity == "" {
			t.Severity = cat.Severity
		}
		c.terms = append(c.terms, t)
	}
	c.allow = wl.Allow
	c.matcher = NewMatcher(c.terms, c.allow)
	return c, nil
}

// Rules returns the platform's text rules with a shop's overrides applied;
// unknown platforms get generic's.
func (c *Checker) Rules(p listinggen.Platform, overrides ...listinggen.RuleOverrides) listinggen.TextRules {
	r := platform.Lookup(p).TextRules()
	for _, o := range overrides {
		r = o.Apply(r)
	}
	return r
}

// Check reports every violation in the copy under rules.
func (c *Checker) Check(rules listinggen.TextRules, cp listinggen.Copy) listinggen.ComplianceReport {
	var vs []listinggen.Violation
	vs = append(vs, c.FindTerms("title", cp.Title)...)
	if rules.ForbidEmoji {
		vs = append(vs, c.findEmoji("title", cp.Title)...)
	}
	if u := listinggen.TitleUnits(cp.Title); rules.TitleMaxUnits > 0 && u > rules.TitleMaxUnits {
		vs = append(vs, c.violation("length", "title", "", 0, utf8.RuneCountInString(cp.Title),
			fmt.Sprintf("title is %d units, the %s limit is %d (CJK counts 2)", u, rules.Platform, rules.TitleMaxUnits)))
	}
	if strings.TrimSpace(cp.Title) == "" {
		vs = append(vs, c.violation("length", "title", "", 0, 0, "title is empty"))
	}
	if rules.MaxSellingPoints > 0 && len(cp.SellingPoints) > rules.MaxSellingPoints {
		vs = append(vs, c.violation("length", "selling_points", "", 0, 0,
			fmt.Sprintf("%d selling points, the limit is %d", len(cp.SellingPoints), rules.MaxSellingPoints)))
	}
	for i, sp := range cp.SellingPoints {
		field := fmt.Sprintf("selling_points[%d]", i)
		vs = append(vs, c.FindTerms(field, sp)...)
		if u := listinggen.TitleUnits(sp); rules.SellingPointMaxUnits > 0 && u > rules.SellingPointMaxUnits {
			vs = append(vs, c.violation("length", field, "", 0, utf8.RuneCountInString(sp),
				fmt.Sprintf("selling point is %d units, the limit is %d", u, rules.SellingPointMaxUnits)))
		}
	}
	vs = append(vs, c.FindTerms("description", cp.Description)...)
	if n := utf8.RuneCountInString(cp.Description); rules.DescriptionMaxRunes > 0 && n > rules.DescriptionMaxRunes {
		vs = append(vs, c.violation("length", "description", "", 0, n,
			fmt.Sprintf("description is %d characters, the limit is %d", n, rules.DescriptionMaxRunes)))
	}
	for i, kw := range cp.Keywords {
		vs = append(vs, c.FindTerms(fmt.Sprintf("keywords[%d]", i), kw)...)
	}
	return report(vs)
}

func report(vs []listinggen.Violation) listinggen.ComplianceReport {
	r := listinggen.ComplianceReport{OK: true, Violations: vs}
	if r.Violations == nil {
		r.Violations = []listinggen.Violation{}
	}
	for _, v := range vs {
		if v.Severity == listinggen.SeverityBlock {
			r.OK = false
		}
	}
	return r
}

func (c *Checker) violation(cat, field, term string, start, end int, detail string) listinggen.Violation {
	rule := c.categories[cat].Rule
	if detail != "" {
		rule = rule + ": " + detail
	}
	return listinggen.Violation{Field: field, Term: term, Category: cat, Severity: c.categories[cat].Severity,
		Start: start, End: end, Rule: rule}
}

// FindTerms reports the word-list terms in one field's text.
func (c *Checker) FindTerms(field, text string) []listinggen.Violation {
	var vs []listinggen.Violation
	for _, h := range c.matcher.Find(text) {
		v := c.violation(h.Term.Category, field, text[h.Start:h.End], runeOffset(text, h.Start), runeOffset(text, h.End), "")
		v.Severity = h.Term.Severity
		v.Suggestion = h.Term.Suggestion
		vs = append(vs, v)
	}
	return vs
}

func (c *Checker) findEmoji(field, text string) []listinggen.Violation {
	var vs []listinggen.Violation
	for _, e := range emojiRuns(text) {
		vs = append(vs, c.violation("emoji", field, text[e.start:e.end], runeOffset(text, e.start), runeOffset(text, e.end), ""))
	}
	return vs
}

// Clean removes every listed term, blocking or warning (or replaces it with
// its suggestion), and every emoji from text. The rules rewriter uses it on
// supplier text, and the comply step uses it for its one repair round.
func (c *Checker) Clean(text string) string {
	var b strings.Builder
	last := 0
	for _, h := range c.matcher.Find(text) {
		b.WriteString(text[last:h.Start])
		b.WriteString(h.Term.Suggestion)
		last = h.End
	}
	b.WriteString(text[last:])
	return textnorm.RemoveEmoji(b.String())
}

func runeOffset(s string, byteOff int) int { return utf8.RuneCountInString(s[:byteOff]) }
