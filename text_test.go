package listinggen_test

import (
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

func TestTitleUnitsCountsCJKAsTwo(t *testing.T) {
	t.Parallel()
	cases := map[string]int{
		"":                      0,
		"abc":                   3,
		"连衣裙":                   6,
		"POLO衫":                 6,
		"316不锈钢 保温杯":            16,
		"，":                     2,
		strings.Repeat("裙", 30): 60,
	}
	for in, want := range cases {
		if got := listinggen.TitleUnits(in); got != want {
			t.Errorf("TitleUnits(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestCheckTextRejectsWhatNoStoreShouldKeep(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in        string
		multiline bool
		want      string
	}{
		{"保温杯", false, ""},
		{"第一行\n第二行", true, ""},
		{"第一行\n第二行", false, "control character"},
		{"a\x00b", true, "NUL"},
		{"a\xffb", false, "UTF-8"},
		{"a\ufffdb", false, "U+FFFD"},
		{"a\x1bb", true, "control character"},
	}
	for _, c := range cases {
		errs := listinggen.CheckText("f", c.in, 0, c.multiline)
		if c.want == "" {
			if errs != nil {
				t.Errorf("CheckText(%q) = %v, want ok", c.in, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].Field != "f" || !strings.Contains(errs[0].Message, c.want) {
			t.Errorf("CheckText(%q) = %v, want one error on f mentioning %q", c.in, errs, c.want)
		}
	}
	if errs := listinggen.CheckText("f", "一二三四", 3, false); len(errs) != 1 {
		t.Errorf("length limit counts runes: %v", errs)
	}
}
