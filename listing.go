package listinggen

import (
	"context"
	"fmt"
	"time"
)

// ListingStatus is where a listing stands in review.
type ListingStatus string

const (
	// StatusDraft is a generated listing that passed every check.
	StatusDraft ListingStatus = "draft"
	// StatusNeedsReview is a generated listing a person must look at first;
	// Listing.ReviewReasons says why.
	StatusNeedsReview ListingStatus = "needs_review"
	StatusApproved    ListingStatus = "approved"
	StatusRejected    ListingStatus = "rejected"
)

// Valid reports whether s is a known status.
func (s ListingStatus) Valid() bool {
	switch s {
	case StatusDraft, StatusNeedsReview, StatusApproved, StatusRejected:
		return true
	}
	return false
}

// Copy is the generated text of a listing: the structured output every
// rewriter produces.
type Copy struct {
	Title         string   `json:"title"`
	SellingPoints []string `json:"selling_points"`
	Description   string   `json:"description"`
	Keywords      []string `json:"keywords"`
}

// Severity says whether a violation blocks publishing or only warns.
type Severity string

const (
	SeverityBlock Severity = "block"
	SeverityWarn  Severity = "warn"
)

// Violation is one broken rule, located in a field of the copy. Start and
// End are rune offsets into that field so a UI can highlight the term.
type Violation struct {
	Field    string   `json:"field"`
	Term     string   `json:"term,omitempty"`
	Category string   `json:"category"`
	Severity Severity `json:"severity"`
	Start    int      `json:"start"`
	End      int      `json:"end"`
	Rule     string   `json:"rule"`
	// Source names the law or platform rule the verdict rests on.
	Source     string `json:"source,omitempty"`
	Suggestion string `json:"suggestion,omitempty"`
}

// ComplianceReport is the verdict of the compliance step. OK is false when
// any violation has SeverityBlock.
type ComplianceReport struct {
	OK         bool        `json:"ok"`
	Violations []Violation `json:"violations"`
	// Repaired lists what the comply step changed automatically, so that no
	// fix is silent.
	Repaired []string `json:"repaired,omitempty"`
	// SourceViolations are what the supplier's own text broke (fields
	// source.title, source.description): what the rewriter had to avoid.
	SourceViolations []Violation `json:"source_violations,omitempty"`
}

// Verdict is the dedup outcome for a listing.
type Verdict string

const (
	VerdictUnique    Verdict = "unique"
	VerdictSimilar   Verdict = "similar"
	VerdictDuplicate Verdict = "duplicate"
)

// Valid reports whether v is a known verdict.
func (v Verdict) Valid() bool {
	return v == VerdictUnique || v == VerdictSimilar || v == VerdictDuplicate
}

// DedupMatch is an existing listing that resembles this one. Score is the
// verifier's probability that both are the same item; TextScore the cosine
// similarity of their copy's vectors (0 when found by image alone).
type DedupMatch struct {
	ListingID string          `json:"listing_id"`
	ShopID    string          `json:"shop_id"`
	Score     float64         `json:"score"`
	Kind      string          `json:"kind"`
	TextScore float64         `json:"text_score"`
	Verdict   Verdict         `json:"verdict,omitempty"`
	Reasons   []string        `json:"reasons,omitempty"`
	Evidence  []DedupEvidence `json:"evidence,omitempty"`
}

// DedupReport is the verdict of the dedup step and the evidence for it.
// Reasons explain the verdict in sentences; Confirmations record any
// language-model opinions asked for borderline matches.
type DedupReport struct {
	Verdict       Verdict             `json:"verdict"`
	Scope         string              `json:"scope"`
	Matches       []DedupMatch        `json:"matches"`
	Reasons       []string            `json:"reasons,omitempty"`
	Confirmations []DedupConfirmation `json:"confirmations,omitempty"`
}

// ListingImage is a source image of the listing and the variants made of
// it for the platform.
type ListingImage struct {
	SourceURL string `json:"source_url"`
	// Status is pending (not processed), ready or failed.
	Status string `json:"status"`
	Format string `json:"format,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Bytes  int    `json:"bytes,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// PHash is the 64-bit perceptual hash of the source, as 16 hex digits.
	PHash    string         `json:"phash,omitempty"`
	Variants []ImageVariant `json:"variants,omitempty"`
}

// ImageVariant is one size of an image made for the platform (main,
// main_3x4, detail, thumb), stored under its SHA256 and served at URL.
type ImageVariant struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ImageVariantURL is the path under which the API serves a variant: the URL
// a listing stores, so that a client can fetch the image it describes.
func ImageVariantURL(sha256, name string) string {
	return "/v1/images/" + sha256 + "/" + name + ".jpg"
}

// ImageError says why one source image could not be used.
type ImageError struct {
	URL    string `json:"url"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Image states of a listing (ImagesStatus) and of one image (Status).
const (
	ImagesPending = "pending" // not processed: no image stage configured
	ImagesReady   = "ready"   // every image made
	ImagesPartial = "partial" // some images failed, a main image was made
	ImagesFailed  = "failed"  // no main image could be made
	ImagesNone    = "none"    // the product has no images
)

// Provenance records how a listing's copy was made, so that a reviewer or an
// audit can tell a model's words from the rules rewriter's.
type Provenance struct {
	Rewriter         string  `json:"rewriter"`
	Model            string  `json:"model,omitempty"`
	PromptVersion    string  `json:"prompt_version,omitempty"`
	Seed             uint64  `json:"seed"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	Embedder         string  `json:"embedder"`
	EditedBy         string  `json:"edited_by,omitempty"`
}

// Listing is the copy for one product in one shop, with its checks.
type Listing struct {
	ID            string           `json:"id"`
	TenantID      string           `json:"-"`
	ShopID        string           `json:"shop_id"`
	ProductID     string           `json:"product_id"`
	ProductHash   string           `json:"product_hash"`
	Platform      Platform         `json:"platform"`
	Status        ListingStatus    `json:"status"`
	Copy          Copy             `json:"copy"`
	Source        Product          `json:"source"`
	Images        []ListingImage   `json:"images"`
	ImagesStatus  string           `json:"images_status"`
	ImageErrors   []ImageError     `json:"image_errors,omitempty"`
	Compliance    ComplianceReport `json:"compliance"`
	Dedup         DedupReport      `json:"dedup"`
	Provenance    Provenance       `json:"provenance"`
	ReviewReasons []string         `json:"review_reasons,omitempty"`
	Version       int              `json:"version"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`

	// Embedding is the vector of the copy, produced by EmbeddingModel.
	Embedding      []float32 `json:"-"`
	EmbeddingModel string    `json:"-"`
	// IdempotencyKey is unique per tenant: generating the same product for
	// the same shop with the same rewriter and prompt returns the stored
	// listing instead of a second one.
	IdempotencyKey string `json:"-"`
}

// ListingFilter selects listings. Empty fields do not filter.
type ListingFilter struct {
	ShopID    string
	ProductID string
	Status    ListingStatus
	Verdict   Verdict
	Platform  Platform
	// Compliance selects by the compliance verdict: ComplianceOK or
	// ComplianceProblems (a blocking violation, so it cannot be approved
	// as it is). Empty does not filter.
	Compliance string
	// JobID keeps the listings a batch job's items made or reused (the
	// listing ids its items recorded), so staff can review one job's
	// output on its own.
	JobID  string
	Cursor string
	Limit  int
}

// Values of ListingFilter.Compliance.
const (
	ComplianceOK       = "ok"
	ComplianceProblems = "problems"
)

// SimilarQuery asks for the listings nearest to Vector within a scope:
// one shop, or every shop of a group.
type SimilarQuery struct {
	ShopID    string
	Group     string
	Vector    []float32
	Model     string
	K         int
	ExcludeID string
}

// SimilarListing is one hit of a similarity query; Score is the cosine
// similarity in [-1, 1].
type SimilarListing struct {
	ListingID string
	ShopID    string
	Score     float64
}

// ListingService stores listings.
type ListingService interface {
	// CreateListing stores l and fills its ID, Version and timestamps. If a
	// listing with the same tenant and IdempotencyKey exists, it loads that
	// one into l instead and returns created=false.
	CreateListing(ctx context.Context, l *Listing) (created bool, err error)
	FindListing(ctx context.Context, tenantID, id string) (*Listing, error)
	// FindListingsByID returns the tenant's listings with those ids, in
	// their order, in one query: a dedup check reads all its candidates,
	// and one round trip costs less than one each. ENOTFOUND names the
	// first id not found.
	FindListingsByID(ctx context.Context, tenantID string, ids []string) ([]*Listing, error)
	// FindListingByKey returns the tenant's listing with that idempotency
	// key, or ENOTFOUND. The pipeline asks before it calls the model, so
	// that re-running an unchanged catalogue costs no calls, from any
	// process.
	FindListingByKey(ctx context.Context, tenantID, key string) (*Listing, error)
	FindListings(ctx context.Context, tenantID string, filter ListingFilter) (Page[*Listing], error)
	// UpdateListing writes l if the stored version still equals l.Version
	// (ECONFLICT otherwise) and then increments l.Version.
	UpdateListing(ctx context.Context, l *Listing) error
	SimilarListings(ctx context.Context, tenantID string, q SimilarQuery) ([]SimilarListing, error)
}

// Store is everything the service persists, as one interface that every
// store implements in full (the conformance suite in internal/storetest
// checks each part), so that no caller has to ask a store what it can do.
type Store interface {
	ShopService
	ListingService
	ImageHashSearcher
	UsageService
	JobStore
	SecurityStore
	// Ping reports whether the store can serve requests (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// DefaultTenant is the tenant requests run as on the open embedded default.
const DefaultTenant = "default"

// CheckStorable reports text that no store may keep: invalid UTF-8, NUL and
// other control characters. Both stores call it before writing so that they
// refuse the same input in the same way.
func (l *Listing) CheckStorable() error {
	var errs []FieldError
	add := func(field, s string, multiline bool) {
		errs = append(errs, CheckText(field, s, 0, multiline)...)
	}
	add("shop_id", l.ShopID, false)
	add("product_id", l.ProductID, false)
	add("copy.title", l.Copy.Title, false)
	add("copy.description", l.Copy.Description, true)
	for i, s := range l.Copy.SellingPoints {
		add(fmt.Sprintf("copy.selling_points[%d]", i), s, false)
	}
	for i, s := range l.Copy.Keywords {
		add(fmt.Sprintf("copy.keywords[%d]", i), s, false)
	}
	for _, r := range l.ReviewReasons {
		add("review_reasons", r, true)
	}
	if err := l.Source.Validate("source"); err != nil {
		errs = append(errs, ErrorFields(err)...)
	}
	return Invalid(errs)
}

// InIDOrder returns ls, the rows a store found for ids, in the order of
// ids, or ENOTFOUND naming the first id not among them.
func InIDOrder(ids []string, ls []*Listing) ([]*Listing, error) {
	byID := make(map[string]*Listing, len(ls))
	for _, l := range ls {
		byID[l.ID] = l
	}
	out := make([]*Listing, len(ids))
	for i, id := range ids {
		if out[i] = byID[id]; out[i] == nil {
			return nil, Errorf(ENOTFOUND, "listing %q not found", id)
		}
	}
	return out, nil
}
