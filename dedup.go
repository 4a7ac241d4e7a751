package listinggen

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// DedupEvidence is one piece of evidence the dedup verifier weighed for
// or against two listings being the same item: its kind, its share of the
// log-odds (positive: for) and a sentence a reviewer can check ("same model
// number LMVM2085WH", "main images 3 bits apart").
type DedupEvidence struct {
	Kind   string  `json:"kind"`
	Weight float64 `json:"weight"`
	Reason string  `json:"reason"`
}

// DedupItem is what the dedup verifier knows about one side of a pair: a
// product or listing. Only Title is required; every other field adds
// evidence when both sides have it.
type DedupItem struct {
	Title string `json:"title"`
	// Text is further text (description, selling points) searched for
	// identifiers and measurements, never scored for similarity: a long
	// description would drown the title.
	Text       string     `json:"text,omitempty"`
	Brand      string     `json:"brand,omitempty"`
	Category   string     `json:"category,omitempty"`
	Attributes Attributes `json:"attributes,omitempty"`
	// Price is the unit price; 0 means unknown.
	Price float64 `json:"price,omitempty"`
	// PHashes are the 64-bit perceptual hashes of the images, main first.
	PHashes []uint64 `json:"-"`
}

// DedupOpinion is a second opinion on whether two items are the same.
type DedupOpinion struct {
	Same   bool
	Reason string
	// Cached says the opinion was answered from the cache, not asked.
	Cached bool
}

// DedupConfirmer gives a second opinion (a language model's) on a pair the
// verifier is unsure about. Implementations cache their answers.
type DedupConfirmer interface {
	ConfirmSame(ctx context.Context, a, b DedupItem) (DedupOpinion, error)
	// Model names who answers, for the record.
	Model() string
}

// DedupConfirmation records a language model's opinion on a borderline
// match, asked only when the evidence left the verifier unsure.
type DedupConfirmation struct {
	ListingID string `json:"listing_id"`
	Model     string `json:"model"`
	Same      bool   `json:"same"`
	Reason    string `json:"reason"`
	Cached    bool   `json:"cached"`
}

// ImageHashQuery asks for the listings with an image whose 64-bit
// perceptual hash is within MaxDistance bits of one of Hashes, within a
// scope: one shop, the shops of a group, or (both empty) the tenant.
type ImageHashQuery struct {
	ShopID      string
	Group       string
	Hashes      []uint64
	MaxDistance int
	K           int
	ExcludeID   string
}

// ImageHashMatch is a listing found by an image hash query, by its closest
// image: Image is that image's index in the listing's images, Query the
// index of the query hash it matched, Distance their Hamming distance.
type ImageHashMatch struct {
	ListingID string
	ShopID    string
	Distance  int
	Image     int
	Query     int
}

// ImageHashSearcher finds listings by image perceptual hashes. Results
// hold each listing once, closest first (ties by listing id), at most K.
type ImageHashSearcher interface {
	SimilarImages(ctx context.Context, tenantID string, q ImageHashQuery) ([]ImageHashMatch, error)
}

// MaxImageHashQuery bounds the hashes and results of one image query.
const MaxImageHashQuery = 50

// Check reports a query no store should run.
func (q ImageHashQuery) Check() error {
	if len(q.Hashes) == 0 || len(q.Hashes) > MaxImageHashQuery || q.K < 1 || q.K > MaxImageHashQuery || q.MaxDistance < 0 || q.MaxDistance > 64 {
		return Errorf(EINVALID, "image hash query needs 1-%d hashes, K in [1, %d] and MaxDistance in [0, 64]", MaxImageHashQuery, MaxImageHashQuery)
	}
	return nil
}

// ImageHash is a stored image's perceptual hash and its position among the
// listing's images.
type ImageHash struct {
	Position int
	Hash     uint64
}

// ImageHashes returns the perceptual hashes of the listing's images that
// have one (16 hex digits), with their positions: what the stores index.
func (l *Listing) ImageHashes() []ImageHash {
	var out []ImageHash
	for i, im := range l.Images {
		if len(im.PHash) != 16 {
			continue
		}
		if h, err := strconv.ParseUint(im.PHash, 16, 64); err == nil {
			out = append(out, ImageHash{Position: i, Hash: h})
		}
	}
	return out
}

// TopImageMatches sorts the best match of each listing by distance, then
// listing id, and keeps k: the order every ImageHashSearcher returns.
func TopImageMatches(best map[string]ImageHashMatch, k int) []ImageHashMatch {
	out := make([]ImageHashMatch, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b ImageHashMatch) int {
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		return strings.Compare(a.ListingID, b.ListingID)
	})
	return out[:min(k, len(out))]
}

// CloserImage orders the candidate images of one listing: by distance,
// then position, then query hash.
func CloserImage(a, b ImageHashMatch) bool {
	if a.Distance != b.Distance {
		return a.Distance < b.Distance
	}
	if a.Image != b.Image {
		return a.Image < b.Image
	}
	return a.Query < b.Query
}
