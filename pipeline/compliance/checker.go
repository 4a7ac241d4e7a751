package compliance

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
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
	// Source overrides the category's source for this term.
	Source string `json:"source,omitempty"`
	// ExceptPlatforms are the platforms where the term is fine: a
	// platform's own name is no diversion on it.
	ExceptPlatforms []listinggen.Platform `json:"except_platforms,omitempty"`

	// pinyin: also match the term spelt in pinyin.
	pinyin bool
	// literalNumerals: the term's numerals are part of a name (三星).
	literalNumerals bool
	// claim, when set, makes the term a claim that a licence allows.
	claim *claim
	// detail names what a contact rule found (手机号).
	detail string
}

type category struct {
	Rule     string              `json:"rule"`
	Source   string              `json:"source"`
	Severity listinggen.Severity `json:"severity"`
	// Pinyin: the category's terms are also matched spelt in pinyin.
	Pinyin bool `json:"pinyin"`
	// LiteralNumerals: numerals in the category's terms are names, not
	// numbers (三星 is a brand; 3星 is not).
	LiteralNumerals bool `json:"literal_numerals"`
}

type wordList struct {
	Categories map[string]category `json:"categories"`
	Terms      []Term              `json:"terms"`
	Allow      []string            `json:"allow"`
}

// contactList is data/contact.json.
type contactList struct {
	Category string         `json:"category"`
	Terms    []Term         `json:"terms"`
	Allow    []string       `json:"allow"`
	Numbers  []*NumberRule  `json:"numbers"`
	Patterns []*TextPattern `json:"patterns"`
}

// Checker checks copy against platform profiles and word lists. It is
// immutable after New and safe for concurrent use.
type Checker struct {
	categories map[string]category
	matcher    *Matcher
	claims     *claimSet
	// scope is what the checker knows of the listing (In); productCats are
	// the claim categories of its product category.
	scope       Scope
	productCats []string
	derived     *derivedCache
}

// New loads the embedded profiles and word lists.
func New() (*Checker, error) {
	if _, err := platform.Profiles(); err != nil {
		return nil, err
	}
	d, err := loadData()
	if err != nil {
		return nil, err
	}
	return &Checker{categories: d.categories, claims: d.claims, derived: newDerivedCache(),
		matcher: NewMatcher(d.terms, d.allow).withRules(d.numbers, d.patterns)}, nil
}

// data is the embedded word lists, contact rules and claims, checked and
// ready for a Matcher.
type data struct {
	categories map[string]category
	terms      []Term
	allow      []string
	numbers    []*NumberRule
	patterns   []*TextPattern
	claims     *claimSet
}

// loadData reads data/terms.json, contact.json and claims.json, and
// reports every problem in them at once.
func loadData() (*data, error) {
	var wl wordList
	var cl contactList
	var claims claimSet
	for name, v := range map[string]any{"terms.json": &wl, "contact.json": &cl, "claims.json": &claims} {
		b, err := dataFS.ReadFile("data/" + name)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	d := &data{categories: wl.Categories, claims: &claims, numbers: cl.Numbers, patterns: cl.Patterns}
	d.categories[customCategory] = category{Rule: "the seller's own word list (tenant or shop)", Severity: listinggen.SeverityBlock}
	for _, t := range cl.Terms {
		t.Category = cl.Category
		wl.Terms = append(wl.Terms, t)
	}
	var errs []error
	for _, cm := range claims.Claims {
		if _, dup := d.categories[cm.ID]; dup {
			errs = append(errs, fmt.Errorf("claims.json: claim %q repeats a category", cm.ID))
		}
		d.categories[cm.ID] = category{Rule: cm.Rule, Source: cm.Source, Severity: listinggen.SeverityBlock, Pinyin: true}
		for _, term := range cm.Terms {
			wl.Terms = append(wl.Terms, Term{Term: term, Category: cm.ID, claim: cm})
		}
	}
	if err := claims.validate(); err != nil {
		errs = append(errs, err)
	}
	for _, t := range wl.Terms {
		cat, ok := d.categories[t.Category]
		if !ok {
			errs = append(errs, fmt.Errorf("term %q has unknown category %q", t.Term, t.Category))
			continue
		}
		if t.Severity == "" {
			t.Severity = cat.Severity
		}
		t.pinyin, t.literalNumerals = cat.Pinyin, cat.LiteralNumerals
		d.terms = append(d.terms, t)
	}
	contactCat, ok := d.categories[cl.Category]
	if !ok {
		errs = append(errs, fmt.Errorf("contact.json: unknown category %q", cl.Category))
	}
	contactTerm := func(name, source string) Term {
		return Term{Term: name, Category: cl.Category, Severity: contactCat.Severity, Source: source, detail: name}
	}
	for _, r := range cl.Numbers {
		var err error
		if r.Prefix != "" {
			r.prefix, err = regexp.Compile(r.Prefix)
		}
		if err != nil || r.Digits[0] < 1 || r.Digits[1] < r.Digits[0] {
			errs = append(errs, fmt.Errorf("contact.json: number %q: digits %v, prefix: %v", r.Name, r.Digits, err))
			continue
		}
		for _, w := range r.After {
			r.after = append(r.after, []byte(matchForm.String(w)))
		}
		// The longest word first, so that QQ号 is taken whole, not as 号.
		sort.SliceStable(r.after, func(i, j int) bool { return len(r.after[i]) > len(r.after[j]) })
		r.term = contactTerm(r.Name, r.Source)
	}
	for _, p := range cl.Patterns {
		if err := p.compile(); err != nil {
			errs = append(errs, fmt.Errorf("contact.json: pattern %q: %w", p.Name, err))
			continue
		}
		p.term = contactTerm(p.Name, p.Source)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("compliance data: %w", err)
	}
	d.allow = append(wl.Allow, cl.Allow...)
	return d, nil
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

// Check reports every violation in the copy under rules. A checker
// without a platform in its scope takes the rules' platform; the product
// categories depend on the scope's category only, so they carry over
// rather than being looked up again on every check.
func (c *Checker) Check(rules listinggen.TextRules, cp listinggen.Copy) listinggen.ComplianceReport {
	if c.scope.Platform == "" && rules.Platform != "" {
		d := *c
		d.scope.Platform = rules.Platform
		c = &d
	}
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
		Start: start, End: end, Rule: rule, Source: c.categories[cat].Source}
}

// finding is a hit the checker's scope does not allow, with what the rule
// says about it here.
type finding struct {
	Hit
	detail string
}

// find returns the hits in text that the scope does not allow: a licensed
// claim the shop may make, a platform's own name on that platform.
func (c *Checker) find(text string) []finding {
	var out []finding
	for _, h := range c.matcher.Find(text) {
		t := h.Term
		if c.scope.Platform != "" && slices.Contains(t.ExceptPlatforms, c.scope.Platform) {
			continue
		}
		detail := t.detail
		if t.claim != nil {
			ok, why := c.claims.allows(t.claim, c.productCats, c.scope.Licences)
			if ok {
				continue
			}
			detail = why
		}
		out = append(out, finding{Hit: h, detail: detail})
	}
	return out
}

// FindTerms reports the word-list terms, contact details and claims in one
// field's text that the checker's scope does not allow.
func (c *Checker) FindTerms(field, text string) []listinggen.Violation {
	var vs []listinggen.Violation
	for _, f := range c.find(text) {
		v := c.violation(f.Term.Category, field, text[f.Start:f.End], runeOffset(text, f.Start), runeOffset(text, f.End), f.detail)
		v.Severity = f.Term.Severity
		v.Suggestion = f.Term.Suggestion
		if f.Term.Source != "" {
			v.Source = f.Term.Source
		}
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

// Clean removes every flagged term, blocking or warning (or replaces it
// with its suggestion), and every emoji from text. The rules rewriter uses
// it on supplier text, and the comply step uses it for its one repair
// round; a claim the scope allows stays.
func (c *Checker) Clean(text string) string {
	var b strings.Builder
	last := 0
	for _, f := range c.find(text) {
		b.WriteString(text[last:f.Start])
		b.WriteString(f.Term.Suggestion)
		last = f.End
	}
	b.WriteString(text[last:])
	return textnorm.RemoveEmoji(b.String())
}

func runeOffset(s string, byteOff int) int { return utf8.RuneCountInString(s[:byteOff]) }
