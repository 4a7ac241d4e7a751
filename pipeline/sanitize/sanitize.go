// Package sanitize makes rewriter output safe to display. A model's output
// is untrusted: a product page, a prompt injection or a confused model can
// put markup in it, and staff preview listings in a browser. Titles,
// selling points and keywords become plain text; the description keeps only
// the formatting of bluemonday's user-generated-content policy (no scripts,
// styles, event handlers, iframes or javascript: links).
package sanitize

import (
	"html"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/microcosm-cc/bluemonday"
)

var (
	strict = bluemonday.StrictPolicy()
	ugc    = bluemonday.UGCPolicy()
)

// Text returns s with every tag removed and entities decoded, repeated
// until nothing changes, so that escaped markup ("&lt;script&gt;") cannot
// turn into markup once decoded. Angle brackets that remain are dropped:
// plain-text fields have no use for them.
func Text(s string) string {
	if !strings.ContainsAny(s, "<>&") {
		return s
	}
	for range 4 {
		next := html.UnescapeString(strict.Sanitize(s))
		if next == s {
			break
		}
		s = next
	}
	return strings.NewReplacer("<", "", ">", "").Replace(s)
}

// HTML returns s with only safe formatting markup kept. Plain text passes
// unchanged except that &, < and > are escaped; text without those
// characters is returned as is.
func HTML(s string) string {
	if !strings.ContainsAny(s, "<>&") {
		return s
	}
	return ugc.Sanitize(s)
}

// Copy sanitises every field of cp and names the fields it changed.
func Copy(cp listinggen.Copy) (listinggen.Copy, []string) {
	var changed []string
	set := func(field string, dst *string, fn func(string) string) {
		if v := fn(*dst); v != *dst {
			*dst = v
			changed = append(changed, field)
		}
	}
	set("title", &cp.Title, Text)
	set("description", &cp.Description, HTML)
	list := func(field string, in []string) []string {
		if in == nil {
			return nil
		}
		out := make([]string, len(in))
		for i, v := range in {
			out[i] = v
			set(field, &out[i], Text)
		}
		return out
	}
	cp.SellingPoints = list("selling_points", cp.SellingPoints)
	cp.Keywords = list("keywords", cp.Keywords)
	return cp, dedupe(changed)
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}
