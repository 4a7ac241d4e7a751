package dedup_test

import (
	"context"
	"testing"

	"github.com/listinggen/listinggen"
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

// fakeSearcher answers from fixed hits per scope.
type fakeSearcher struct {
	byShop, byGroup []listinggen.SimilarListing
	queries         []listinggen.SimilarQuery
}

func (f *fakeSearcher) SimilarListings(_ context.Context, _ string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, error) {
	f.queries = append(f.queries, q)
	if q.Group != "" {
		return f.byGroup, nil
	}
	return f.byShop, nil
}

var _ dedup.Searcher = (*fakeSearcher)(nil)

func TestCheckVerdicts(t *testing.T) {
	t.Parallel()
	cfg := dedup.DefaultConfig()
	shop := &listinggen.Shop{ID: "s1", Group: "g"}
	f := &fakeSearcher{
		byShop:  []listinggen.SimilarListing{{ListingID: "a", ShopID: "s1", Score: 0.85}, {ListingID: "b", ShopID: "s1", Score: 0.2}},
		byGroup: []listinggen.SimilarListing{{ListingID: "c", ShopID: "s2", Score: 0.95}, {ListingID: "a", ShopID: "s1", Score: 0.85}},
	}
	r, err := dedup.Check(context.Background(), f, cfg, dedup.Query{TenantID: "t", Shop: shop, Vector: []float32{1}, Model: "m", ExcludeID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != listinggen.VerdictDuplicate || r.Scope != "group" || len(r.Matches) != 2 ||
		r.Matches[0].ListingID != "c" || r.Matches[0].Kind != "same_group" || r.Matches[1].Kind != "same_shop" {
		t.Fatalf("report = %+v", r)
	}
	if len(f.queries) != 2 || f.queries[0].ShopID != "s1" || f.queries[1].Group != "g" || f.queries[0].ExcludeID != "x" {
		t.Errorf("queries = %+v", f.queries)
	}
	lone := &fakeSearcher{byShop: []listinggen.SimilarListing{{ListingID: "a", Score: 0.5}}}
	r, _ = dedup.Check(context.Background(), lone, cfg, dedup.Query{Shop: &listinggen.Shop{ID: "s"}, Vector: []float32{1}})
	if r.Verdict != listinggen.VerdictUnique || len(r.Matches) != 0 || r.Scope != "shop" || len(lone.queries) != 1 {
		t.Errorf("unique report = %+v after %d queries", r, len(lone.queries))
	}
	for score, want := range map[float64]listinggen.Verdict{0.95: listinggen.VerdictDuplicate, 0.9: listinggen.VerdictDuplicate, 0.85: listinggen.VerdictSimilar, 0.5: listinggen.VerdictUnique} {
		if got := dedup.Verdict(cfg, score); got != want {
			t.Errorf("Verdict(%v) = %s, want %s", score, got, want)
		}
	}
}
