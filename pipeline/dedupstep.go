package pipeline

import (
	"context"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// dedup checks the copy, source and images against the shop's and the
// group's listings, and flags the listing for review on a duplicate.
func (p *Pipeline) dedup(ctx context.Context, st *state) error {
	item := dedup.ItemFromListing(&listinggen.Listing{Copy: st.Rewrite.Copy, Source: st.Product, Images: st.Images})
	report, err := p.verified.Check(ctx, dedup.VerifiedQuery{Item: item, ProductID: st.Product.ID, Query: dedup.Query{
		TenantID: st.TenantID, Shop: st.Shop, Vector: st.Embedding, Model: p.cfg.Embedder.Model(), ExcludeID: st.ExcludeID,
	}})
	if err != nil {
		return err
	}
	st.Dedup = report
	st.ReviewReasons = append(st.ReviewReasons, dedupReasons(report)...)
	return nil
}

func dedupReasons(r listinggen.DedupReport) []string {
	if r.Verdict != listinggen.VerdictDuplicate {
		return nil
	}
	return []string{"dedup: " + strings.Join(r.Reasons, "; ")}
}

// CheckDuplicates is the dedup check of the API: item (embedded by text)
// against a shop and its group, or the tenant's whole catalogue when shop
// is nil. Nothing is stored.
func (p *Pipeline) CheckDuplicates(ctx context.Context, tenantID string, shop *listinggen.Shop, text string, item dedup.Item) (listinggen.DedupReport, error) {
	vecs, err := p.cfg.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return listinggen.DedupReport{}, err
	}
	return p.verified.Check(ctx, dedup.VerifiedQuery{Item: item, Query: dedup.Query{
		TenantID: tenantID, Shop: shop, Vector: vecs[0], Model: p.cfg.Embedder.Model(),
	}})
}
