package listinggen_test

import (
	"testing"

	"github.com/listinggen/listinggen"
)

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
		if _, err := listinggen.ParseImageSpec([]byte(raw)); err == nil {
			t.Errorf("listinggen.ParseImageSpec(%s) accepted", raw)
		}
	}
}
