package platform_test

import (
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/platform"
)

func TestEveryProfileHasSourcesAndPositiveLimits(t *testing.T) {
	t.Parallel()
	profiles, err := platform.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range listinggen.Platforms {
		prof, ok := profiles[p]
		if !ok {
			t.Fatalf("no profile for %s", p)
		}
		if prof.Title.Source == "" || prof.SellingPoints.Source == "" || prof.Description.Source == "" || len(prof.ImagesJSON) == 0 {
			t.Errorf("%s profile lacks a source note or image spec", p)
		}
		r := prof.TextRules()
		if r.TitleMaxUnits <= 0 || r.MaxSellingPoints <= 0 || r.DescriptionMaxRunes <= 0 {
			t.Errorf("%s rules = %+v", p, r)
		}
	}
}

func TestParseImageSpecRefusesBadSpecs(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`{"main_ratio": "square"}`,
		`{"main_ratio": "0:1"}`,
		`{"main_max_bytes": -1}`,
		`{"main_size": [800, 600], "main_ratio": "1:1"}`,
		`{"main_size": [400, 400], "main_min_px": 600}`,
		`{"formats": ["png"]}`,
		`{"detail": {"min_width": 1300, "max_width": 1200}}`,
		`{"category_overrides": [{"main_ratio": "3:4"}]}`,
		`{"mian_max": 5}`,
		`[1, 2]`,
	} {
		if _, err := platform.ParseImageSpec([]byte(raw)); err == nil {
			t.Errorf("platform.ParseImageSpec(%s) accepted", raw)
		}
	}
}
