// Package hashembed is the offline Embedder: feature hashing of character
// n-grams. It needs no model and no network, so `make run` and the tests
// embed real text deterministically.
package hashembed

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/textnorm"
)

// Config configures the hashing embedder.
type Config struct {
	// Dimensions is the number of hash buckets (vector length).
	Dimensions int
	// MinN and MaxN bound the character n-gram sizes.
	MinN, MaxN int
}

// DefaultConfig: character 1-3-grams into 256 signed buckets. Bigrams
// and trigrams carry most of the signal in Chinese titles, where words are
// not separated by spaces.
func DefaultConfig() Config { return Config{Dimensions: 256, MinN: 1, MaxN: 3} }

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dimensions < 8 || c.Dimensions > 16384 {
		errs = append(errs, fmt.Errorf("hashing embedder: Dimensions %d not in [8, 16384]", c.Dimensions))
	}
	if c.MinN < 1 || c.MaxN < c.MinN || c.MaxN > 8 {
		errs = append(errs, fmt.Errorf("hashing embedder: n-gram range [%d, %d] invalid", c.MinN, c.MaxN))
	}
	return errors.Join(errs...)
}

// Embedder embeds text by feature hashing of character n-grams: no model, no
// network, deterministic, and good at the near-verbatim copies that
// platforms punish (the same supplier title in two shops).
type Embedder struct {
	cfg Config
}

var _ listinggen.Embedder = (*Embedder)(nil)

// New returns a hashing embedder.
func New(cfg Config) (*Embedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Embedder{cfg: cfg}, nil
}

// Model names the vector space, including every parameter that changes it.
func (h *Embedder) Model() string {
	return fmt.Sprintf("hashing-char%d-%d-d%d-v1", h.cfg.MinN, h.cfg.MaxN, h.cfg.Dimensions)
}

// Dimensions returns the vector length.
func (h *Embedder) Dimensions() int { return h.cfg.Dimensions }

// Embed returns one L2-normalised vector per text.
func (h *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = h.Vector(t)
	}
	return out, nil
}

// Vector embeds one text.
func (h *Embedder) Vector(text string) []float32 {
	runes := []rune(embedForm.String(text))
	v := make([]float64, h.cfg.Dimensions)
	hasher := fnv.New64a()
	var buf [4 * 8]byte
	for n := h.cfg.MinN; n <= h.cfg.MaxN; n++ {
		// Longer n-grams are rarer and more specific, so they weigh more.
		weight := float64(n)
		for i := 0; i+n <= len(runes); i++ {
			hasher.Reset()
			b := buf[:0]
			for _, r := range runes[i : i+n] {
				b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
			}
			hasher.Write(b)
			sum := hasher.Sum64()
			bucket := int(sum % uint64(h.cfg.Dimensions))
			if sum>>63 == 1 {
				v[bucket] -= weight
			} else {
				v[bucket] += weight
			}
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, len(v))
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// embedForm lower-cases, folds full-width ASCII to half-width and drops
// spaces, punctuation and symbols, so that "POLO衫" and "ｐｏｌｏ 衫" embed
// alike. The vector space named by Model depends on it: any change here is
// a new space.
var embedForm = textnorm.New(textnorm.Options{Fold: textnorm.FoldWidth | textnorm.FoldCase, Drop: textnorm.DropSeparators})
