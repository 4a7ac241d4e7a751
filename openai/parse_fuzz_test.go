package openai

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCopy: whatever a model answers, ParseCopy returns copy with a
// title, a description and at least one selling point, all trimmed and, for
// valid UTF-8 input, valid UTF-8; or a ParseError. Never a panic.
func FuzzParseCopy(f *testing.F) {
	for _, s := range []string{
		"```json\n{\"title\":\"连衣裙\",\"selling_points\":[\"棉\"],\"description\":\"好\",\"keywords\":[]}\n```",
		`Here you go: {"title":"裙","selling_points":"棉\n麻","description":"d","keywords":"a,b，c",}`,
		`{"title":"裙","selling_points":[],"description":"d"}`, `{"title":"`, `{}`, `[1]`, "not json", `{"title":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cp, err := ParseCopy(s)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error that is not a ParseError: %v", err)
			}
			return
		}
		if cp.Title == "" || cp.Description == "" || len(cp.SellingPoints) == 0 || strings.TrimSpace(cp.Title) != cp.Title {
			t.Fatalf("accepted incomplete copy %+v from %q", cp, s)
		}
		if utf8.ValidString(s) && (!utf8.ValidString(cp.Title) || !utf8.ValidString(cp.Description)) {
			t.Fatalf("invalid UTF-8 out of valid input: %+v", cp)
		}
	})
}
