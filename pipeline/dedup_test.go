package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// fakeConfirmer answers with its function field and counts the calls.
type fakeConfirmer struct {
	calls atomic.Int32
	fn    func(a, b listinggen.DedupItem) listinggen.DedupOpinion
}

var _ listinggen.DedupConfirmer = (*fakeConfirmer)(nil)

func (f *fakeConfirmer) ConfirmSame(_ context.Context, a, b listinggen.DedupItem) (listinggen.DedupOpinion, error) {
	f.calls.Add(1)
	return f.fn(a, b), nil
}
func (f *fakeConfirmer) Model() string { return "judge-1" }

func pipelineWith(t *testing.T, s listinggen.Store, rw listinggen.Rewriter, conf listinggen.DedupConfirmer) *pipeline.Pipeline {
	t.Helper()
	checker, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := hashembed.New(hashembed.DefaultConfig())
	p, err := pipeline.New(pipeline.Config{Store: s, Rewriter: rw, Embedder: emb, Checker: checker, Confirmer: conf,
		Dedup: dedup.DefaultConfig(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// When the copy repeats another shop's of the group, the pipeline writes
// it again, up to MaxRewrites times, and keeps the best attempt; a
// rewriter that can only say one thing ends as a duplicate with the reason.
func TestGroupCopyDuplicateIsRewrittenBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var calls, told atomic.Int32
	same := &fakeRewriter{fn: func(_ context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
		calls.Add(1)
		// Redraws are told what the group publishes: shop A's title.
		if d := req.Distinct; d != nil && len(d.Titles) == 1 && d.Titles[0] == "保温杯316不锈钢大容量" && d.Similarity != nil && d.Below == 0.9 {
			told.Add(1)
		}
		return &listinggen.Rewrite{Copy: listinggen.Copy{Title: "保温杯316不锈钢大容量", SellingPoints: []string{"容量：500ml"}}}, nil
	}}
	p := pipelineWith(t, e.store, same, nil)
	a := &listinggen.Shop{TenantID: "t1", Name: "A", Platform: listinggen.PlatformDouyin, Group: "g"}
	b := &listinggen.Shop{TenantID: "t1", Name: "B", Platform: listinggen.PlatformDouyin, Group: "g"}
	for _, sh := range []*listinggen.Shop{a, b} {
		if err := e.store.CreateShop(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Generate(ctx, "t1", product, a); err != nil {
		t.Fatal(err)
	}
	calls.Store(0)
	st, err := p.Generate(ctx, "t1", product, b)
	if err != nil {
		t.Fatal(err)
	}
	max := dedup.DefaultConfig().MaxRewrites
	d := st.Listing.Dedup
	if st.Rewrites != max || calls.Load() != int32(max+1) || told.Load() != int32(max) || d.Verdict != listinggen.VerdictDuplicate ||
		d.Matches[0].Kind != dedup.KindSameGroup || !strings.Contains(strings.Join(st.Listing.ReviewReasons, "|"), "another shop of the group") {
		t.Fatalf("rewrites %d, calls %d (%d told the group's titles), dedup %+v, reasons %q", st.Rewrites, calls.Load(), told.Load(), d, st.Listing.ReviewReasons)
	}

	// The rules rewriter finds words of its own for the second shop. Two
	// fresh shops of their own group, so that only the copy of this pair
	// is judged (the shops above already list the same item).
	rp := newPipeline(t, e.store, nil)
	c := &listinggen.Shop{TenantID: "t1", Name: "C", Platform: listinggen.PlatformDouyin, Group: "h"}
	d2 := &listinggen.Shop{TenantID: "t1", Name: "D", Platform: listinggen.PlatformDouyin, Group: "h"}
	for _, sh := range []*listinggen.Shop{c, d2} {
		if err := e.store.CreateShop(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	first, err := rp.Generate(ctx, "t1", product, c)
	if err != nil {
		t.Fatal(err)
	}
	second, err := rp.Generate(ctx, "t1", product, d2)
	if err != nil {
		t.Fatal(err)
	}
	if s := dedup.TitleSimilarity(first.Listing.Copy.Title, second.Listing.Copy.Title); s >= dedup.DefaultConfig().DuplicateThreshold ||
		second.Listing.Dedup.Verdict == listinggen.VerdictDuplicate {
		t.Errorf("titles %q and %q score %.3f; verdict %s", first.Listing.Copy.Title, second.Listing.Copy.Title, s, second.Listing.Dedup.Verdict)
	}
}

// A borderline match gets a second opinion, which decides and is recorded;
// a clear one does not ask.
func TestBorderlineMatchIsConfirmed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conf := &fakeConfirmer{fn: func(a, b listinggen.DedupItem) listinggen.DedupOpinion {
		return listinggen.DedupOpinion{Same: true, Reason: "same cup, same capacity"}
	}}
	rw := &fakeRewriter{fn: func(_ context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
		return &listinggen.Rewrite{Copy: listinggen.Copy{Title: req.Product.Title, SellingPoints: []string{"好用"}}}, nil
	}}
	p := pipelineWith(t, e.store, rw, conf)
	if _, err := p.Generate(ctx, "t1", product, e.shop); err != nil {
		t.Fatal(err)
	}
	// Same attributes, a title half alike, no price: the verifier is
	// unsure (between SimilarScore and DuplicateScore).
	near := product
	near.ID, near.Title = "p2", "大容量保温杯 男女学生"
	st, err := p.Generate(ctx, "t1", near, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	d := st.Listing.Dedup
	cfg := dedup.DefaultConfig()
	if len(d.Matches) == 0 || d.Matches[0].Score < cfg.SimilarScore || d.Matches[0].Score >= cfg.DuplicateScore {
		t.Fatalf("the test pair is not borderline: %+v", d)
	}
	if conf.calls.Load() != 1 || len(d.Confirmations) != 1 || !d.Confirmations[0].Same || d.Confirmations[0].Model != "judge-1" ||
		d.Verdict != listinggen.VerdictDuplicate || !strings.Contains(strings.Join(d.Matches[0].Reasons, "|"), "judge-1 says the same item") {
		t.Fatalf("calls %d, dedup %+v", conf.calls.Load(), d)
	}
}
