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
