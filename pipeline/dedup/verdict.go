package dedup

import (
	"errors"
	"fmt"
	"math"

	"github.com/listinggen/listinggen"
)

// Config sets the thresholds that turn cosine similarity into a verdict.
type Config struct {
	// DuplicateThreshold: at or above it, the listing repeats an existing one.
	DuplicateThreshold float64
	// SimilarThreshold: at or above it (and below duplicate), a reviewer
	// should look.
	SimilarThreshold float64
	// K is how many candidates are fetched per scope.
	K int
	// DuplicateScore and SimilarScore turn the verifier's score (the
	// probability that two listings are the same item) into a verdict:
	// duplicate at or above DuplicateScore, similar (a reviewer's look, or
	// a second opinion) between the two.
	DuplicateScore float64
	SimilarScore   float64
	// Model is the verifier's; nil means DefaultModel.
	Model *Model
	// MaxRewrites bounds the extra rewrites the pipeline makes when a
	// listing's copy duplicates another shop's of its group.
	MaxRewrites int
}

// DefaultConfig holds thresholds for the hashing embedder over title and
// selling points, chosen on the sample catalogue's same-category pairs: at
// 0.90 different items do not score as high, though text alone finds few
// same-item pairs from other suppliers (the verifier's evidence does that);
// at 0.80 a pair is worth a reviewer's look. The verifier's thresholds are
// the default model's policy, chosen on the validation splits it was not
// fitted on.
func DefaultConfig() Config {
	p := DefaultModel().Policy
	return Config{DuplicateThreshold: 0.90, SimilarThreshold: 0.80, K: 5, DuplicateScore: p.Duplicate, SimilarScore: p.Similar, MaxRewrites: 10}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if !(c.SimilarThreshold > 0 && c.SimilarThreshold <= c.DuplicateThreshold && c.DuplicateThreshold <= 1) {
		errs = append(errs, fmt.Errorf("dedup: need 0 < SimilarThreshold (%v) <= DuplicateThreshold (%v) <= 1", c.SimilarThreshold, c.DuplicateThreshold))
	}
	if !(c.SimilarScore > 0 && c.SimilarScore <= c.DuplicateScore && c.DuplicateScore < 1) {
		errs = append(errs, fmt.Errorf("dedup: need 0 < SimilarScore (%v) <= DuplicateScore (%v) < 1", c.SimilarScore, c.DuplicateScore))
	}
	if c.MaxRewrites < 0 || c.MaxRewrites > 10 {
		errs = append(errs, fmt.Errorf("dedup: MaxRewrites %d not in [0, 10]", c.MaxRewrites))
	}
	if c.K < 1 || c.K > 100 {
		errs = append(errs, fmt.Errorf("dedup: K %d not in [1, 100]", c.K))
	}
	return errors.Join(errs...)
}

// Query is one dedup check: a vector against the listings of a shop and,
// if the shop belongs to a group, of every shop in that group.
type Query struct {
	TenantID  string
	Shop      *listinggen.Shop
	Vector    []float32
	Model     string
	ExcludeID string
}

// Verdict classifies one similarity score.
func Verdict(cfg Config, score float64) listinggen.Verdict {
	switch {
	case score >= cfg.DuplicateThreshold:
		return listinggen.VerdictDuplicate
	case score >= cfg.SimilarThreshold:
		return listinggen.VerdictSimilar
	}
	return listinggen.VerdictUnique
}

// round keeps four decimals: enough to rank, stable in JSON.
func round(f float64) float64 { return math.Round(f*10000) / 10000 }
