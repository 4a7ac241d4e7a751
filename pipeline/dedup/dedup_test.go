package dedup_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

func TestHashingVectorsAreUnitLengthDeterministicAndNormalised(t *testing.T) {
	t.Parallel()
	h, err := dedup.NewHashing(dedup.DefaultHashingConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := h.Vector("POLO衫 冰丝 短袖")
	var norm float64
	for _, x := range a {
		norm += float64(x) * float64(x)
	}
	if len(a) != 256 || math.Abs(norm-1) > 1e-5 {
		t.Fatalf("len %d, norm² %v", len(a), norm)
	}
	if s := listinggen.Cosine(a, h.Vector("ＰＯＬＯ衫，冰丝短袖")); s < 0.999 {
		t.Errorf("full-width, case and punctuation changed the vector: cosine %v", s)
	}
	near := listinggen.Cosine(h.Vector("316不锈钢保温杯大容量"), h.Vector("保温杯 316不锈钢 大容量 男女"))
	far := listinggen.Cosine(h.Vector("316不锈钢保温杯大容量"), h.Vector("法式复古碎花连衣裙"))
	if near < 0.5 || far > 0.3 {
		t.Errorf("near %v, far %v", near, far)
	}
	if zero := h.Vector(" ，。"); listinggen.Cosine(zero, a) != 0 {
		t.Error("punctuation-only text is not the zero vector")
	}
	vs, err := h.Embed(context.Background(), []string{"a", "b"})
	if err != nil || len(vs) != 2 {
		t.Fatalf("Embed = %d vectors, %v", len(vs), err)
	}
	if h.Model() != "hashing-char1-3-d256-v1" || h.Dimensions() != 256 {
		t.Errorf("model %q dims %d", h.Model(), h.Dimensions())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Embed on a cancelled context = %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	if _, err := dedup.NewHashing(dedup.HashingConfig{Dimensions: 4, MinN: 3, MaxN: 2}); err == nil {
		t.Error("bad hashing config accepted")
	}
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
