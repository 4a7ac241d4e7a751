package listinggen

import (
	"encoding/json"
	"fmt"
)

// Limits on a seller's own word lists.
const (
	MaxCustomWords     = 500
	MaxCustomWordRunes = 50
)

// CustomTerm is a word a tenant or shop bans on top of the built-in lists.
type CustomTerm struct {
	Term       string   `json:"term"`
	Severity   Severity `json:"severity,omitempty"`
	Suggestion string   `json:"suggestion,omitempty"`
}

// WordRules are a tenant's or a shop's additions to the compliance word
// lists: extra banned words, words that must not be flagged (a product line
// called 万能宝), and the brands the seller is authorised to name.
type WordRules struct {
	BannedWords      []CustomTerm `json:"banned_words,omitempty"`
	AllowedWords     []string     `json:"allowed_words,omitempty"`
	AuthorizedBrands []string     `json:"authorized_brands,omitempty"`
}

// Validate reports every problem, with field paths under prefix.
func (w *WordRules) Validate(prefix string) []FieldError {
	var errs []FieldError
	f := func(name string) string { return joinField(prefix, name) }
	for name, n := range map[string]int{"banned_words": len(w.BannedWords), "allowed_words": len(w.AllowedWords), "authorized_brands": len(w.AuthorizedBrands)} {
		if n > MaxCustomWords {
			errs = append(errs, FieldError{f(name), fmt.Sprintf("has more than %d entries", MaxCustomWords)})
		}
	}
	for i, t := range w.BannedWords {
		name := f(fmt.Sprintf("banned_words[%d]", i))
		errs = append(errs, requireText(name+".term", t.Term, MaxCustomWordRunes, false)...)
		errs = append(errs, CheckText(name+".suggestion", t.Suggestion, MaxCustomWordRunes, false)...)
		if t.Severity != "" && t.Severity != SeverityBlock && t.Severity != SeverityWarn {
			errs = append(errs, FieldError{name + ".severity", "must be block or warn"})
		}
	}
	for i, s := range w.AllowedWords {
		errs = append(errs, requireText(f(fmt.Sprintf("allowed_words[%d]", i)), s, MaxCustomWordRunes, false)...)
	}
	for i, s := range w.AuthorizedBrands {
		errs = append(errs, requireText(f(fmt.Sprintf("authorized_brands[%d]", i)), s, MaxCustomWordRunes, false)...)
	}
	return errs
}

// RuleOverrides changes a platform's text rules for one shop (a category
// with a shorter title limit, a platform limit that changed before our
// profile did). Nil fields keep the platform's value.
type RuleOverrides struct {
	TitleMaxUnits        *int  `json:"title_max_units,omitempty"`
	ForbidEmoji          *bool `json:"forbid_emoji,omitempty"`
	MaxSellingPoints     *int  `json:"max_selling_points,omitempty"`
	SellingPointMaxUnits *int  `json:"selling_point_max_units,omitempty"`
	DescriptionMaxRunes  *int  `json:"description_max_runes,omitempty"`
	// Images overrides fields of the platform's image specification (the
	// "images" block of its profile, e.g. {"main_max_bytes": 524288,
	// "main_ratio": "3:4"}); the image stage validates the result.
	Images map[string]json.RawMessage `json:"images,omitempty"`
}

// Apply returns r with the overrides applied.
func (o RuleOverrides) Apply(r TextRules) TextRules {
	if o.TitleMaxUnits != nil {
		r.TitleMaxUnits = *o.TitleMaxUnits
	}
	if o.ForbidEmoji != nil {
		r.ForbidEmoji = *o.ForbidEmoji
	}
	if o.MaxSellingPoints != nil {
		r.MaxSellingPoints = *o.MaxSellingPoints
	}
	if o.SellingPointMaxUnits != nil {
		r.SellingPointMaxUnits = *o.SellingPointMaxUnits
	}
	if o.DescriptionMaxRunes != nil {
		r.DescriptionMaxRunes = *o.DescriptionMaxRunes
	}
	return r
}

// Validate reports overrides outside what any marketplace accepts.
func (o RuleOverrides) Validate(prefix string) []FieldError {
	var errs []FieldError
	check := func(name string, v *int, lo, hi int) {
		if v != nil && (*v < lo || *v > hi) {
			errs = append(errs, FieldError{joinField(prefix, name), fmt.Sprintf("must be between %d and %d", lo, hi)})
		}
	}
	check("title_max_units", o.TitleMaxUnits, 10, 500)
	check("max_selling_points", o.MaxSellingPoints, 0, 20)
	check("selling_point_max_units", o.SellingPointMaxUnits, 10, 500)
	check("description_max_runes", o.DescriptionMaxRunes, 100, 100_000)
	return errs
}
