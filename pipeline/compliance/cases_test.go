package compliance_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/compliance"
)

// matchCase is one line of testdata/cases.jsonl: a text, the spans (as
// the seller wrote them) that must be flagged, in order (none: the text
// must stay clean), and the scope it is checked in.
type matchCase struct {
	Text     string              `json:"text"`
	Want     []string            `json:"want"`
	Platform listinggen.Platform `json:"platform"`
	Category string              `json:"category"`
	Licences []string            `json:"licences"`
}

func loadCases(t *testing.T) []matchCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var cases []matchCase
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var c matchCase
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("testdata/cases.jsonl:%d: %v", i+1, err)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestMatcherCases is the table test of what sellers write: every case
// flags exactly its spans, each with a rule and a source, at the right
// rune offsets; at least 300 cases, at least 100 of them clean.
func TestMatcherCases(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	cases := loadCases(t)
	clean := 0
	for _, tc := range cases {
		if len(tc.Want) == 0 {
			clean++
		}
	}
	if len(cases) < 300 || clean < 100 {
		t.Fatalf("%d cases, %d clean: want at least 300 and 100", len(cases), clean)
	}
	for _, tc := range cases {
		name := tc.Text
		if tc.Platform != "" || tc.Category != "" || len(tc.Licences) > 0 {
			name = fmt.Sprintf("%s@%s/%s/%s", tc.Text, tc.Platform, tc.Category, strings.Join(tc.Licences, "+"))
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vs := c.In(compliance.Scope{Platform: tc.Platform, Category: tc.Category, Licences: tc.Licences}).FindTerms("title", tc.Text)
			if got := strings.Join(terms(vs), "|"); got != strings.Join(tc.Want, "|") {
				t.Fatalf("FindTerms(%q) = %q, want %q", tc.Text, got, strings.Join(tc.Want, "|"))
			}
			runes := []rune(tc.Text)
			for _, v := range vs {
				if string(runes[v.Start:v.End]) != v.Term || v.Rule == "" || v.Category == "" || v.Source == "" {
					t.Errorf("violation %+v: span %d-%d is %q", v, v.Start, v.End, string(runes[v.Start:v.End]))
				}
			}
		})
	}
}

// Title limits: exactly at the limit, one under and one over, per platform,
// with CJK counting 2 and ASCII 1.
func TestTitleLimitsPerPlatform(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	for _, p := range listinggen.Platforms {
		limit := c.Rules(p).TitleMaxUnits
		cjk := limit / 2
		cases := []struct {
			title string
			ok    bool
		}{
			{strings.Repeat("裙", cjk), true},
			{strings.Repeat("裙", cjk-1), true},
			{strings.Repeat("裙", cjk+1), false},
			{strings.Repeat("裙", cjk-1) + "ab", true},
			{strings.Repeat("裙", cjk-1) + "abc", false},
			{strings.Repeat("a", limit), true},
			{strings.Repeat("a", limit+1), false},
			{strings.Repeat("裙", cjk-1) + "，", true},
		}
		for _, tc := range cases {
			r := c.Check(c.Rules(p), listinggen.Copy{Title: tc.title})
			if r.OK != tc.ok {
				t.Errorf("%s (limit %d): %d units ok=%v, want %v", p, limit, listinggen.TitleUnits(tc.title), r.OK, tc.ok)
			}
		}
	}
	// Taobao: a CJK title of 30 characters is fine, 31 is not.
	tb := c.Rules(listinggen.PlatformTaobao)
	if !c.Check(tb, listinggen.Copy{Title: strings.Repeat("杯", 30)}).OK || c.Check(tb, listinggen.Copy{Title: strings.Repeat("杯", 31)}).OK {
		t.Error("taobao 30/31 CJK characters")
	}
}
