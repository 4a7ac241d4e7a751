package dedup_test

import (
	"testing"

	"github.com/listinggen/listinggen/pipeline/dedup"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	if err := (dedup.Config{DuplicateThreshold: 0.5, SimilarThreshold: 0.8, K: 0}).Validate(); err == nil {
		t.Error("bad dedup config accepted")
	}
	if err := dedup.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
