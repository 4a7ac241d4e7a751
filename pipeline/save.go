package pipeline

import (
	"context"

	"github.com/listinggen/listinggen"
)

// save stores the listing in one transaction with its reports and
// provenance; an identical listing stored meanwhile is returned instead.
func (p *Pipeline) save(ctx context.Context, st *state) error {
	hash := st.Product.ContentHash()
	status := listinggen.StatusDraft
	if len(st.ReviewReasons) > 0 {
		status = listinggen.StatusNeedsReview
	}
	prov := st.Rewrite.Provenance
	prov.Embedder = p.cfg.Embedder.Model()
	l := &listinggen.Listing{
		TenantID:       st.TenantID,
		ShopID:         st.Shop.ID,
		ProductID:      st.Product.ID,
		ProductHash:    hash,
		Platform:       st.Shop.Platform,
		Status:         status,
		Copy:           st.Rewrite.Copy,
		Source:         st.Product,
		Images:         st.Images,
		ImagesStatus:   st.ImagesStatus,
		ImageErrors:    st.ImageErrors,
		Compliance:     st.Compliance,
		Dedup:          st.Dedup,
		Provenance:     prov,
		ReviewReasons:  st.ReviewReasons,
		Embedding:      st.Embedding,
		EmbeddingModel: p.cfg.Embedder.Model(),
		IdempotencyKey: st.Key,
	}
	if l.IdempotencyKey == "" { // a rewrite attempt's state, which reuse did not see
		l.IdempotencyKey = p.listingKey(st)
	}
	created, err := p.cfg.Store.CreateListing(ctx, l)
	if err != nil {
		return err
	}
	st.Listing, st.Created = l, created
	return nil
}

// usageAccount charges the model calls made under ctx to the tenant and
// shop, and to the batch job the caller's account names (a worker sets it),
// if it is the same tenant's.
func usageAccount(ctx context.Context, tenantID string, shop *listinggen.Shop) context.Context {
	a := listinggen.UsageAccount{TenantID: tenantID}
	if outer, ok := listinggen.UsageAccountFrom(ctx); ok && outer.TenantID == tenantID {
		a.JobID = outer.JobID
	}
	if shop != nil {
		a.ShopID = shop.ID
	}
	return listinggen.WithUsageAccount(ctx, a)
}
