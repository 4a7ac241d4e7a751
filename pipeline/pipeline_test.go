package pipeline_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/images"
	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/rules"
	"github.com/listinggen/listinggen/sqlite"
)

// fakeRewriter returns whatever its function field says.
type fakeRewriter struct {
	fn func(ctx context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error)
}

var _ listinggen.Rewriter = (*fakeRewriter)(nil)

func (f *fakeRewriter) Rewrite(ctx context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
	return f.fn(ctx, req)
}
func (f *fakeRewriter) Name() string    { return "fake" }
func (f *fakeRewriter) Version() string { return "v1" }

func fixedCopy(cp listinggen.Copy) *fakeRewriter {
	return &fakeRewriter{fn: func(context.Context, listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
		return &listinggen.Rewrite{Copy: cp, Provenance: listinggen.Provenance{Rewriter: "fake"}}, nil
	}}
}

type env struct {
	store *sqlite.Store
	shop  *listinggen.Shop
}

func newEnv(t *testing.T) env {
	t.Helper()
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "p.db")
	s, err := sqlite.Open(context.Background(), cfg, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	shop := &listinggen.Shop{TenantID: "t1", Name: "店", Platform: listinggen.PlatformDouyin}
	if err := s.CreateShop(context.Background(), shop); err != nil {
		t.Fatal(err)
	}
	return env{store: s, shop: shop}
}

func newPipeline(t *testing.T, s listinggen.Store, rw listinggen.Rewriter) *pipeline.Pipeline {
	t.Helper()
	checker, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	if rw == nil {
		if rw, err = rules.New(checker); err != nil {
			t.Fatal(err)
		}
	}
	emb, _ := hashembed.New(hashembed.DefaultConfig())
	p, err := pipeline.New(pipeline.Config{Store: s, Rewriter: rw, Embedder: emb, Checker: checker,
		Dedup: dedup.DefaultConfig(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var product = listinggen.Product{ID: "p1", Title: "316不锈钢保温杯大容量 厂家直销", Category: "家居/保温杯",
	Attributes: listinggen.Attributes{{Name: "材质", Values: []string{"316不锈钢"}}, {Name: "容量", Values: []string{"500ml"}}},
	Images:     []listinggen.ImageRef{{URL: "https://img.example/a.jpg"}}}

func TestStepsRunInOrderAndStoreAListing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPipeline(t, e.store, nil)
	if got := strings.Join(p.StepNames(), ","); got != "normalise,reuse,rewrite,comply,images,embed,dedup,save" {
		t.Fatalf("steps = %s", got)
	}
	st, err := p.Generate(context.Background(), "t1", product, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	l := st.Listing
	if !st.Created || l.Status != listinggen.StatusDraft || !l.Compliance.OK || l.Dedup.Verdict != listinggen.VerdictUnique ||
		l.ImagesStatus != listinggen.ImagesPending || len(l.Images) != 1 || l.Provenance.Rewriter != "rules" ||
		l.Provenance.Embedder == "" || !strings.HasPrefix(l.Copy.Title, "保温杯") || len(st.Timings) != 8 {
		t.Fatalf("state = %+v", st)
	}
	again, err := p.Generate(context.Background(), "t1", product, e.shop)
	if err != nil || again.Created || again.Listing.ID != l.ID {
		t.Fatalf("second run: created %v id %s, %v", again.Created, again.Listing.ID, err)
	}
}

func TestContextIsCheckedBetweenSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	rw := &fakeRewriter{fn: func(context.Context, listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
		cancel() // the request goes away while the model answers
		return &listinggen.Rewrite{Copy: listinggen.Copy{Title: "保温杯"}}, nil
	}}
	p := newPipeline(t, e.store, rw)
	st, err := p.Generate(ctx, "t1", product, e.shop)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, ran := st.Timings["comply"]; ran {
		t.Error("comply ran after the context was cancelled")
	}
	if page, _ := e.store.FindListings(context.Background(), "t1", listinggen.ListingFilter{}); len(page.Items) != 0 {
		t.Error("a listing was stored for a cancelled request")
	}
}

func TestComplyRepairsOnceAndSaysWhat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPipeline(t, e.store, fixedCopy(listinggen.Copy{Title: "第一品牌保温杯 最佳", SellingPoints: []string{"厂家直销"}, Description: "好"}))
	st, err := p.Generate(context.Background(), "t1", product, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	l := st.Listing
	if l.Copy.Title != "保温杯 优选" || len(l.Copy.SellingPoints) != 0 || !l.Compliance.OK || l.Status != listinggen.StatusDraft {
		t.Fatalf("repaired listing = %+v", l)
	}
	if got := strings.Join(l.Compliance.Repaired, "; "); !strings.Contains(got, `removed "第一品牌"`) || !strings.Contains(got, `replaced "最佳" with "优选"`) {
		t.Errorf("repaired = %v", l.Compliance.Repaired)
	}
}

func TestUnrepairableCopyIsFlaggedForReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPipeline(t, e.store, fixedCopy(listinggen.Copy{Title: strings.Repeat("保温杯", 11)}))
	st, err := p.Generate(context.Background(), "t1", product, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	if st.Listing.Status != listinggen.StatusNeedsReview || st.Listing.Compliance.OK || len(st.Listing.ReviewReasons) != 1 ||
		!strings.Contains(st.Listing.ReviewReasons[0], "66 units") {
		t.Fatalf("listing = %+v", st.Listing)
	}
}

func TestSameCopyForAnotherProductIsADuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPipeline(t, e.store, fixedCopy(listinggen.Copy{Title: "保温杯316不锈钢大容量", SellingPoints: []string{"容量：500ml"}}))
	first, err := p.Generate(context.Background(), "t1", product, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	other := product
	other.ID, other.Title = "p2", "保温杯 另一家供应商"
	second, err := p.Generate(context.Background(), "t1", other, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	d := second.Listing.Dedup
	if d.Verdict != listinggen.VerdictDuplicate || d.Matches[0].ListingID != first.Listing.ID || d.Matches[0].TextScore < 0.99 ||
		second.Listing.Status != listinggen.StatusNeedsReview {
		t.Fatalf("dedup = %+v, status %s", d, second.Listing.Status)
	}
	// An edit that makes the copy different clears the verdict on recheck.
	l := second.Listing
	l.Copy = listinggen.Copy{Title: "完全不同的文案 折叠椅 户外露营"}
	if err := p.Recheck(context.Background(), l, e.shop); err != nil {
		t.Fatal(err)
	}
	if l.Dedup.Verdict != listinggen.VerdictUnique || len(l.ReviewReasons) != 0 {
		t.Errorf("after recheck: %+v, reasons %v", l.Dedup, l.ReviewReasons)
	}
}

func TestInvalidProductAndForeignShopAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPipeline(t, e.store, nil)
	bad := product
	bad.Title = " "
	_, err := p.Generate(context.Background(), "t1", bad, e.shop)
	if listinggen.ErrorCode(err) != listinggen.EINVALID || listinggen.ErrorFields(err)[0].Field != "product.title" {
		t.Errorf("blank title: %v", err)
	}
	_, err = p.Generate(context.Background(), "other-tenant", product, e.shop)
	if listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Errorf("another tenant's shop: %v", err)
	}
}

func TestConfigValidateReportsEveryMissingPart(t *testing.T) {
	t.Parallel()
	err := pipeline.Config{}.Validate()
	for _, want := range []string{"Store", "Rewriter", "Embedder", "Checker", "Logger", "dedup"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestSourceIsCheckedAndTheRewriterToldWhatToAvoid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var avoid []string
	rw := &fakeRewriter{fn: func(_ context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
		avoid = req.Avoid
		return &listinggen.Rewrite{Copy: listinggen.Copy{Title: "保温杯 316不锈钢"}}, nil
	}}
	p := newPipeline(t, e.store, rw)
	src := product
	src.Description = "<p>厂家直销 第一品牌</p>"
	st, err := p.Generate(context.Background(), "t1", src, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(avoid, ",") != "厂家直销,第一品牌" {
		t.Errorf("rewriter was told to avoid %v", avoid)
	}
	sv := st.Listing.Compliance.SourceViolations
	if len(sv) != 3 || sv[0].Field != "source.title" || sv[1].Field != "source.description" || sv[2].Term != "第一品牌" {
		t.Errorf("source violations = %+v", sv)
	}
}

func TestImagesAreProcessedAndBadOnesRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	photo, err := os.ReadFile(sample.Path("images/rocket.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rocket.jpg" {
			w.Write(photo)
			return
		}
		w.Write([]byte("not an image"))
	}))
	defer srv.Close()
	cfg := images.DefaultConfig()
	cfg.Fetch.AllowHosts = []string{strings.TrimPrefix(srv.URL, "http://")}
	proc, err := images.NewProcessor(cfg, blob.NewMemory(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	checker, _ := compliance.New()
	rw, _ := rules.New(checker)
	emb, _ := hashembed.New(hashembed.DefaultConfig())
	p, err := pipeline.New(pipeline.Config{Store: e.store, Rewriter: rw, Embedder: emb, Checker: checker, Images: proc,
		Dedup: dedup.DefaultConfig(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	withImages := product
	withImages.Images = []listinggen.ImageRef{{URL: srv.URL + "/rocket.jpg"}, {URL: srv.URL + "/fake.jpg"}, {URL: "http://127.0.0.1:1/x.jpg"}}
	st, err := p.Generate(context.Background(), "t1", withImages, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	l := st.Listing
	if l.ImagesStatus != listinggen.ImagesPartial || len(l.ImageErrors) != 2 || l.Images[0].Status != listinggen.ImagesReady ||
		l.Images[1].Status != listinggen.ImagesFailed || len(l.Images[0].PHash) != 16 || l.Status != listinggen.StatusDraft {
		t.Fatalf("images = %+v, errors %+v, status %s", l.Images, l.ImageErrors, l.Status)
	}
	main := l.Images[0].Variants[0]
	if main.Name != "main" || main.Width != main.Height || main.Width < 600 || main.Bytes > 1<<20 || !strings.HasPrefix(main.URL, "/v1/images/"+main.SHA256+"/") {
		t.Errorf("main variant = %+v", main)
	}
	if l.ImageErrors[1].Code != listinggen.EFORBIDDEN {
		t.Errorf("loopback URL not refused as forbidden: %+v", l.ImageErrors[1])
	}
	noMain := product
	noMain.ID = "p9"
	noMain.Images = []listinggen.ImageRef{{URL: srv.URL + "/fake.jpg"}}
	st, err = p.Generate(context.Background(), "t1", noMain, e.shop)
	if err != nil {
		t.Fatal(err)
	}
	if st.Listing.ImagesStatus != listinggen.ImagesFailed || st.Listing.Status != listinggen.StatusNeedsReview {
		t.Errorf("no main image: %s %s %v", st.Listing.ImagesStatus, st.Listing.Status, st.Listing.ReviewReasons)
	}
}

// TestUnchangedProductIsNotRewrittenAgain: a second run of the same product
// for the same shop, even by a fresh pipeline (another process, a restart),
// returns the stored listing without calling the rewriter; a changed
// product is rewritten.
func TestUnchangedProductIsNotRewrittenAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	calls := 0
	rw := &fakeRewriter{fn: func(context.Context, listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
		calls++
		return &listinggen.Rewrite{Copy: listinggen.Copy{Title: "316不锈钢保温杯 500ml", SellingPoints: []string{"材质：316不锈钢", "容量：500ml", "大容量"},
			Description: "316不锈钢保温杯，容量500ml。", Keywords: []string{"保温杯"}}, Provenance: listinggen.Provenance{Rewriter: "fake"}}, nil
	}}
	first, err := newPipeline(t, e.store, rw).Generate(context.Background(), "t1", product, e.shop)
	if err != nil || !first.Created || calls != 1 {
		t.Fatalf("first run: created=%v calls=%d err=%v", first.Created, calls, err)
	}
	again, err := newPipeline(t, e.store, rw).Generate(context.Background(), "t1", product, e.shop)
	if err != nil || again.Created || again.Listing.ID != first.Listing.ID || calls != 1 {
		t.Fatalf("rerun: created=%v id=%s (first %s) calls=%d err=%v", again.Created, again.Listing.ID, first.Listing.ID, calls, err)
	}
	if _, ran := again.Timings["rewrite"]; ran {
		t.Fatal("the rerun ran the rewrite step")
	}
	changed := product
	changed.Title += " 新款"
	if st, err := newPipeline(t, e.store, rw).Generate(context.Background(), "t1", changed, e.shop); err != nil || !st.Created || calls != 2 {
		t.Fatalf("changed product: created=%v calls=%d err=%v", st.Created, calls, err)
	}
}
