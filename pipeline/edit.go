package pipeline

import (
	"context"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Recheck re-validates a listing whose copy a person edited: compliance
// (reported, never repaired: a person's words are not changed behind their
// back), a new embedding and a new dedup verdict. The caller saves it.
func (p *Pipeline) Recheck(ctx context.Context, l *listinggen.Listing, shop *listinggen.Shop) error {
	ctx = usageAccount(ctx, l.TenantID, shop)
	checker, rules, err := p.checkerFor(ctx, l.TenantID, shop, l.Source.Category)
	if err != nil {
		return err
	}
	l.Compliance = checker.Check(rules, l.Copy)
	vecs, err := p.cfg.Embedder.Embed(ctx, []string{EmbeddingText(l.Copy)})
	if err != nil {
		return err
	}
	l.Embedding, l.EmbeddingModel = vecs[0], p.cfg.Embedder.Model()
	l.Dedup, err = p.verified.Check(ctx, dedup.VerifiedQuery{Item: dedup.ItemFromListing(l), ProductID: l.ProductID, Query: dedup.Query{
		TenantID: l.TenantID, Shop: shop, Vector: l.Embedding, Model: l.EmbeddingModel, ExcludeID: l.ID,
	}})
	if err != nil {
		return err
	}
	l.ReviewReasons = append(append(ReviewReasons(l.Compliance), dedupReasons(l.Dedup)...), imageReasons(l)...)
	return nil
}

// Regenerate writes new copy for a stored listing: the same product and
// shop, a new variant, every step but save, and then an update of the
// listing (same id, next version). onDelta, if set, receives the model's
// output as it arrives. Status goes back to draft, or needs_review with the
// reasons.
func (p *Pipeline) Regenerate(ctx context.Context, l *listinggen.Listing, shop *listinggen.Shop, onDelta func(string)) error {
	st := &state{request: request{TenantID: l.TenantID, Product: l.Source, Shop: shop, Variant: uint64(l.Version), ExcludeID: l.ID, OnDelta: onDelta}}
	if err := p.runSteps(ctx, st, p.redraw); err != nil {
		return err
	}
	l.Copy = st.Rewrite.Copy
	l.Images, l.ImagesStatus, l.ImageErrors = st.Images, st.ImagesStatus, st.ImageErrors
	l.Compliance = st.Compliance
	l.Dedup = st.Dedup
	l.Provenance = st.Rewrite.Provenance
	l.Provenance.Embedder = p.cfg.Embedder.Model()
	l.ReviewReasons = st.ReviewReasons
	l.Embedding, l.EmbeddingModel = st.Embedding, p.cfg.Embedder.Model()
	l.Status = listinggen.StatusDraft
	if len(st.ReviewReasons) > 0 {
		l.Status = listinggen.StatusNeedsReview
	}
	return p.cfg.Store.UpdateListing(ctx, l)
}
