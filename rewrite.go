package listinggen

import "context"

// TextRules are the platform limits a rewriter must respect. They come from
// the platform profile (platform/) with any shop overrides applied.
type TextRules struct {
	Platform Platform `json:"platform"`
	// TitleMaxUnits is the title limit counted by TitleUnits (CJK 2, ASCII 1).
	TitleMaxUnits int `json:"title_max_units"`
	// ForbidEmoji is set where the platform rejects emoji in titles.
	ForbidEmoji bool `json:"forbid_emoji"`
	// MaxSellingPoints and SellingPointMaxUnits bound the selling points.
	MaxSellingPoints     int `json:"max_selling_points"`
	SellingPointMaxUnits int `json:"selling_point_max_units"`
	// DescriptionMaxRunes bounds the plain-text description.
	DescriptionMaxRunes int `json:"description_max_runes"`
}

// RewriteRequest is one product to be rewritten for one shop.
type RewriteRequest struct {
	Product *Product
	Shop    *Shop
	Rules   TextRules
	// Seed varies the output per shop so two shops do not publish identical
	// copy; the same seed gives the same output.
	Seed uint64
	// Avoid lists the banned terms found in the source, so that a model can
	// be told not to repeat them.
	Avoid []string
	// Distinct, when set, names titles the copy must not repeat: those
	// other shops of the group already publish for this product.
	Distinct *Distinctness
}

// Distinctness asks a rewriter for a title unlike others. Similarity is the
// dedup check's own title scorer, so that a rewriter able to search (the
// rules rewriter draws many candidates) aims at the measure that judges
// it; a model is shown the titles and told to write differently.
type Distinctness struct {
	Titles     []string
	Similarity func(a, b string) float64
	// Below is the score every pair should stay under: the duplicate
	// threshold.
	Below float64
}

// MaxSimilarity is the highest similarity of title to any of d's titles.
func (d *Distinctness) MaxSimilarity(title string) float64 {
	worst := 0.0
	for _, t := range d.Titles {
		worst = max(worst, d.Similarity(title, t))
	}
	return worst
}

// Rewrite is a rewriter's output and how it was made.
type Rewrite struct {
	Copy       Copy
	Provenance Provenance
}

// Rewriter turns a source product into copy for one shop.
type Rewriter interface {
	Rewrite(ctx context.Context, req RewriteRequest) (*Rewrite, error)
	// Name identifies the rewriter in provenance and idempotency keys.
	Name() string
	// Version identifies the prompt (or algorithm) version: a new version
	// makes new listings instead of returning the ones stored under the old.
	Version() string
}

// Embedder turns texts into vectors for similarity search.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model identifies the vector space; vectors of different models are
	// never compared.
	Model() string
	Dimensions() int
}

// Repairer is a Rewriter that can be told what was wrong with its copy and
// asked once more (an LLM gets the violations fed back).
type Repairer interface {
	Repair(ctx context.Context, req RewriteRequest, previous Copy, problems []string) (*Rewrite, error)
}

// StreamRewriter is a Rewriter that reports its output as it arrives.
type StreamRewriter interface {
	Rewriter
	RewriteStream(ctx context.Context, req RewriteRequest, onDelta func(string)) (*Rewrite, error)
}
