package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/sample"
)

type shopJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
}

type listingJSON struct {
	ID           string          `json:"id"`
	ShopID       string          `json:"shop_id"`
	ProductID    string          `json:"product_id"`
	Status       string          `json:"status"`
	Version      int             `json:"version"`
	Created      bool            `json:"created"`
	Copy         listinggen.Copy `json:"copy"`
	ImagesStatus string          `json:"images_status"`
	ImageErrors  []struct {
		URL, Code, Reason string
	} `json:"image_errors"`
	Images []struct {
		Status   string `json:"status"`
		PHash    string `json:"phash"`
		Variants []struct {
			Name          string
			URL           string
			Width, Height int
			Bytes         int
		} `json:"variants"`
	} `json:"images"`
	Compliance struct {
		OK         bool                   `json:"ok"`
		Violations []listinggen.Violation `json:"violations"`
		Repaired   []string               `json:"repaired"`
	} `json:"compliance"`
	Dedup struct {
		Verdict string `json:"verdict"`
	} `json:"dedup"`
	ReviewReasons []string `json:"review_reasons"`
}

type generateJSON struct {
	Listings []listingJSON `json:"listings"`
}

type pageJSON struct {
	Items      []listingJSON `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

func createShop(t testing.TB, s *server, name, platform string) shopJSON {
	t.Helper()
	var shop shopJSON
	if resp := s.do("POST", "/v1/shops", map[string]string{"name": name, "platform": platform}, &shop); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create shop: %d", resp.StatusCode)
	}
	return shop
}

func generateBody(t testing.TB, rawProduct []byte, shopIDs ...string) []byte {
	t.Helper()
	ids, _ := json.Marshal(shopIDs)
	return []byte(fmt.Sprintf(`{"product": %s, "shop_ids": %s}`, rawProduct, ids))
}

// The walkthrough a newcomer follows: a shop, the first sample product, a listing that
// is within the platform limit, keeps the core word, has no jargon or
// absolute terms, and is still there after a restart.
func TestWalkthroughListingSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	shop := createShop(t, s, "抖店一号", "douyin")
	raw := sample.RawLines(t)[0]
	var out generateJSON
	if resp := s.do("POST", "/v1/generate", generateBody(t, raw, shop.ID), &out); resp.StatusCode != http.StatusOK || len(out.Listings) != 1 {
		t.Fatalf("generate: %d %+v", resp.StatusCode, out)
	}
	l := out.Listings[0]
	if !l.Created || l.Status != "draft" || l.ImagesStatus != "pending" || l.ShopID != shop.ID || l.ProductID != "1688-615313507023" {
		t.Fatalf("listing = %+v", l)
	}
	if u := listinggen.TitleUnits(l.Copy.Title); u > 60 || !strings.Contains(l.Copy.Title, "化妆刷") {
		t.Errorf("title %q: %d units, core word kept: %v", l.Copy.Title, u, strings.Contains(l.Copy.Title, "化妆刷"))
	}
	for _, bad := range []string{"现货速发", "🔥", "一件代发", "第一"} {
		if strings.Contains(l.Copy.Title, bad) {
			t.Errorf("title %q contains %q", l.Copy.Title, bad)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	s2 := startServer(t, dir, nil)
	var got listingJSON
	if resp := s2.do("GET", "/v1/listings/"+l.ID, nil, &got); resp.StatusCode != http.StatusOK || got.Copy.Title != l.Copy.Title {
		t.Fatalf("after restart: %d %+v", resp.StatusCode, got)
	}
	var page pageJSON
	s2.do("GET", "/v1/listings?shop_id="+shop.ID, nil, &page)
	if len(page.Items) != 1 || page.Items[0].ID != l.ID {
		t.Errorf("list after restart = %+v", page)
	}
	// The same request again returns the stored listing, not a second one.
	var again generateJSON
	if resp := s2.do("POST", "/v1/generate", generateBody(t, raw, shop.ID), &again); resp.StatusCode != http.StatusOK || len(again.Listings) != 1 {
		t.Fatalf("repeat generate: %d\n%s", resp.StatusCode, s2.logs.String())
	}
	if again.Listings[0].ID != l.ID || again.Listings[0].Created {
		t.Errorf("repeat generate = %+v", again.Listings[0])
	}
	if resp := s2.do("GET", "/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("readyz = %d", resp.StatusCode)
	}
	if resp := s2.do("GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	resp := s2.do("GET", "/openapi.yaml", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Errorf("openapi.yaml = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(s2.logs.String(), "request_id=") {
		t.Error("request logs carry no request id")
	}
}

func TestBadInputGetsAProblemNamingTheField(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	shop := createShop(t, s, "店", "taobao")
	big := append(append([]byte(`{"name":"`), bytes.Repeat([]byte("x"), 1<<20)...), []byte(`","platform":"douyin"}`)...)
	cases := []struct {
		name, method, path string
		body               []byte
		status             int
		field              string
	}{
		{"malformed JSON", "POST", "/v1/shops", []byte(`{"name": "x",`), 400, ""},
		{"trailing garbage", "POST", "/v1/shops", []byte(`{"name":"x","platform":"douyin"} {}`), 400, ""},
		{"unknown platform", "POST", "/v1/shops", []byte(`{"name":"x","platform":"amazon"}`), 422, "platform"},
		{"unknown field", "POST", "/v1/shops", []byte(`{"name":"x","platform":"douyin","colour":"red"}`), 422, "colour"},
		{"shop name NUL", "POST", "/v1/shops", []byte(`{"name":"a\u0000b","platform":"douyin"}`), 422, "name"},
		{"no title", "POST", "/v1/generate", []byte(`{"product":{"category":"女装/连衣裙"},"shop_ids":["` + shop.ID + `"]}`), 422, "product.title"},
		{"blank title", "POST", "/v1/generate", []byte(`{"product":{"title":"   "},"shop_ids":["` + shop.ID + `"]}`), 422, "product.title"},
		{"invalid UTF-8", "POST", "/v1/generate", []byte("{\"product\":{\"title\":\"\xff\xfe连衣裙\"},\"shop_ids\":[\"" + shop.ID + "\"]}"), 422, "product.title"},
		{"lone surrogate", "POST", "/v1/generate", []byte(`{"product":{"title":"\ud800连衣裙"},"shop_ids":["` + shop.ID + `"]}`), 422, "product.title"},
		{"NUL in description", "POST", "/v1/generate", []byte(`{"product":{"title":"裙","description":"a\u0000"},"shop_ids":["` + shop.ID + `"]}`), 422, "product.description"},
		{"bad price", "POST", "/v1/generate", []byte(`{"product":{"title":"裙","price":{"amount":"59,00","currency":"CNY"}},"shop_ids":["` + shop.ID + `"]}`), 422, "product.price.amount"},
		{"private image scheme", "POST", "/v1/generate", []byte(`{"product":{"title":"裙","images":[{"url":"file:///etc/passwd"}]},"shop_ids":["` + shop.ID + `"]}`), 422, "product.images[0].url"},
		{"no shops", "POST", "/v1/generate", []byte(`{"product":{"title":"裙"},"shop_ids":[]}`), 422, "shop_ids"},
		{"repeated shop", "POST", "/v1/generate", []byte(`{"product":{"title":"裙"},"shop_ids":["` + shop.ID + `","` + shop.ID + `"]}`), 422, "shop_ids[1]"},
		{"unknown shop", "POST", "/v1/generate", []byte(`{"product":{"title":"裙"},"shop_ids":["` + shop.ID + `","nope"]}`), 404, "shop_ids[1]"},
		{"too large", "POST", "/v1/shops", big, 413, ""},
		{"unknown listing", "GET", "/v1/listings/nope", nil, 404, ""},
		{"bad status filter", "GET", "/v1/listings?status=published", nil, 422, "status"},
		{"bad limit", "GET", "/v1/listings?limit=1000", nil, 422, "limit"},
		{"forged cursor", "GET", "/v1/listings?cursor=abc", nil, 422, "cursor"},
		{"patch nothing", "PATCH", "/v1/listings/x", []byte(`{}`), 422, ""},
		{"compliance without platform", "POST", "/v1/compliance/check", []byte(`{"title":"裙"}`), 422, "platform"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != nil {
				body = c.body
			}
			var p problem
			resp := s.do(c.method, c.path, body, &p)
			if resp.StatusCode != c.status || p.Status != c.status {
				t.Fatalf("status %d (problem %d), want %d: %+v", resp.StatusCode, p.Status, c.status, p)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if p.Type == "" || p.Title == "" || p.Detail == "" || p.RequestID == "" {
				t.Errorf("incomplete problem %+v", p)
			}
			if c.field != "" && !slices.Contains(p.fields(), c.field) {
				t.Errorf("fields %v, want %q (%s)", p.fields(), c.field, p.Detail)
			}
		})
	}
	var page pageJSON
	s.do("GET", "/v1/listings", nil, &page)
	if len(page.Items) != 0 {
		t.Errorf("bad requests wrote %d listings", len(page.Items))
	}
	if strings.Contains(s.logs.String(), "status=500") {
		t.Error("a client mistake caused a 500")
	}
}

// All 300 sample products for two shops: 600 listings, no errors, every
// title within the limit; then every listing once through cursor pages.
func TestWholeSampleCatalogueForTwoShops(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	a := createShop(t, s, "抖店A", "douyin")
	b := createShop(t, s, "淘宝B", "taobao")
	lines := sample.RawLines(t)
	start := time.Now()
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	work := make(chan []byte)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for raw := range work {
				var out generateJSON
				resp := s.do("POST", "/v1/generate", generateBody(t, raw, a.ID, b.ID), &out)
				mu.Lock()
				if resp.StatusCode != http.StatusOK || len(out.Listings) != 2 {
					failures = append(failures, fmt.Sprintf("%d: %s", resp.StatusCode, raw[:40]))
				}
				for _, l := range out.Listings {
					if listinggen.TitleUnits(l.Copy.Title) > 60 || !l.Compliance.OK {
						failures = append(failures, fmt.Sprintf("listing %s: %q %+v", l.ID, l.Copy.Title, l.Compliance.Violations))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, raw := range lines {
		work <- raw
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	t.Logf("%d products x 2 shops = %d listings in %v (%.0f listings/s, 4 clients)", len(lines), 2*len(lines), elapsed, float64(2*len(lines))/elapsed.Seconds())

	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 100; pages++ {
		var page pageJSON
		s.do("GET", "/v1/listings?limit=200&cursor="+cursor, nil, &page)
		for _, l := range page.Items {
			if seen[l.ID] {
				t.Fatalf("listing %s on two pages", l.ID)
			}
			seen[l.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 600 {
		t.Fatalf("paged through %d listings, want 600", len(seen))
	}
}

func TestEditIsRecheckedAndApprovalNeedsCleanCopy(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	shop := createShop(t, s, "店", "douyin")
	var out generateJSON
	s.do("POST", "/v1/generate", generateBody(t, sample.RawLines(t)[2], shop.ID), &out)
	l := out.Listings[0]

	var edited listingJSON
	resp := s.do("PATCH", "/v1/listings/"+l.ID, map[string]any{"copy": map[string]string{"title": "第一品牌 POLO衫 加微信"}, "version": l.Version}, &edited)
	if resp.StatusCode != http.StatusOK || edited.Compliance.OK || edited.Status != "needs_review" || edited.Copy.Title != "第一品牌 POLO衫 加微信" || len(edited.ReviewReasons) != 2 {
		t.Fatalf("edit with banned terms: %d %+v", resp.StatusCode, edited)
	}
	// The check endpoint gives the verdict the pipeline stored.
	var check struct {
		OK         bool                   `json:"ok"`
		Violations []listinggen.Violation `json:"violations"`
	}
	s.do("POST", "/v1/compliance/check", map[string]any{"shop_id": shop.ID, "title": edited.Copy.Title,
		"selling_points": edited.Copy.SellingPoints, "description": edited.Copy.Description}, &check)
	if check.OK != edited.Compliance.OK || fmt.Sprint(check.Violations) != fmt.Sprint(edited.Compliance.Violations) {
		t.Errorf("check endpoint %+v, pipeline %+v", check, edited.Compliance)
	}
	var p problem
	if resp := s.do("PATCH", "/v1/listings/"+l.ID, map[string]string{"status": "approved"}, &p); resp.StatusCode != 422 || !slices.Contains(p.fields(), "copy.title") {
		t.Fatalf("approving violating copy: %d %+v", resp.StatusCode, p)
	}
	if resp := s.do("PATCH", "/v1/listings/"+l.ID, map[string]any{"status": "approved", "version": l.Version}, &p); resp.StatusCode != 409 {
		t.Fatalf("stale version: %d %+v", resp.StatusCode, p)
	}
	var approved listingJSON
	resp = s.do("PATCH", "/v1/listings/"+l.ID, map[string]any{"copy": map[string]string{"title": "POLO衫 冰丝短袖"}, "status": "approved"}, &approved)
	if resp.StatusCode != http.StatusOK || approved.Status != "approved" || !approved.Compliance.OK || approved.Version != edited.Version+1 {
		t.Fatalf("fix and approve: %d %+v", resp.StatusCode, approved)
	}
	var page pageJSON
	s.do("GET", "/v1/listings?status=approved", nil, &page)
	if len(page.Items) != 1 || page.Items[0].ID != l.ID {
		t.Errorf("status filter = %+v", page.Items)
	}
	var rejected listingJSON
	s.do("PATCH", "/v1/listings/"+l.ID, map[string]string{"status": "rejected"}, &rejected)
	if rejected.Status != "rejected" {
		t.Errorf("reject: %+v", rejected)
	}
}

func TestComplianceCheckEndpoint(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	shop := createShop(t, s, "店", "pinduoduo")
	var r struct {
		OK         bool                   `json:"ok"`
		Violations []listinggen.Violation `json:"violations"`
	}
	s.do("POST", "/v1/compliance/check", map[string]string{"platform": "douyin", "title": "最近很火 第一次穿 连衣裙"}, &r)
	if !r.OK || len(r.Violations) != 0 {
		t.Errorf("allowed words flagged: %+v", r)
	}
	s.do("POST", "/v1/compliance/check", map[string]string{"shop_id": shop.ID, "title": "连衣裙第一品牌🔥"}, &r)
	if r.OK || len(r.Violations) != 2 || r.Violations[0].Term != "第一品牌" || r.Violations[0].Start != 3 || r.Violations[0].End != 7 {
		t.Errorf("violations = %+v", r.Violations)
	}
	var fixed struct {
		OK         bool                   `json:"ok"`
		Violations []listinggen.Violation `json:"violations"`
		Fixed      struct {
			Title      string                 `json:"title"`
			OK         bool                   `json:"ok"`
			Repaired   []string               `json:"repaired"`
			Violations []listinggen.Violation `json:"violations"`
		} `json:"fixed"`
	}
	s.do("POST", "/v1/compliance/check", map[string]any{"platform": "taobao", "title": "最佳连衣裙 一件代发 纯天然", "fix": true}, &fixed)
	if fixed.OK || len(fixed.Violations) != 3 || fixed.Fixed.Title != "优选连衣裙" || !fixed.Fixed.OK ||
		len(fixed.Fixed.Repaired) != 3 || len(fixed.Fixed.Violations) != 0 {
		t.Errorf("fix = %+v", fixed)
	}
	var p problem
	if resp := s.do("POST", "/v1/compliance/check", map[string]string{"shop_id": "nope", "title": "x"}, &p); resp.StatusCode != 404 {
		t.Errorf("unknown shop = %d", resp.StatusCode)
	}
}

// Shutdown drains: a request whose body is still arriving when SIGTERM
// comes is completed and answered, and run returns cleanly.
func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", s.url+"/v1/shops", pr)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	if _, err := pw.Write([]byte(`{"name":"慢店",`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the request is now in flight
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	select {
	case err := <-stopped:
		t.Fatalf("server stopped with a request in flight: %v", err)
	default:
	}
	pw.Write([]byte(`"platform":"douyin"}`))
	pw.Close()
	r := <-done
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("in-flight request: %d %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v", err)
	}
	if !strings.Contains(s.logs.String(), "draining in-flight requests") {
		t.Error("no shutdown log line")
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(context.Background(), nil, getenv, nil, &out, &errb); err == nil || !strings.Contains(errb.String(), "Usage") {
		t.Errorf("no command: %v %q", err, errb.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, getenv, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown command: %v", err)
	}
	if err := run(context.Background(), []string{"help"}, getenv, nil, &out, &errb); err != nil || !strings.Contains(out.String(), "serve") {
		t.Errorf("help: %v %q", err, out.String())
	}
	err := run(context.Background(), []string{"serve", "--log-format", "xml", "--data-dir", t.TempDir()}, getenv, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "log-format") {
		t.Errorf("bad log format: %v", err)
	}
	badCache := func(k string) string { return map[string]string{"VECTOR_CACHE_MB": "-1"}[k] }
	err = run(context.Background(), []string{"migrate", "--data-dir", t.TempDir()}, badCache, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "vector-cache-mb") {
		t.Errorf("negative vector cache: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	badDir := func(k string) string { return map[string]string{"VECTOR_CACHE_DIR": missing}[k] }
	err = run(context.Background(), []string{"migrate", "--data-dir", t.TempDir()}, badDir, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "vector-cache-dir") {
		t.Errorf("missing vector cache directory: %v", err)
	}
	badEf := func(k string) string { return map[string]string{"HNSW_EF_SEARCH": "1001"}[k] }
	err = run(context.Background(), []string{"migrate", "--data-dir", t.TempDir()}, badEf, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "hnsw-ef-search") {
		t.Errorf("ef_search above pgvector's 1000: %v", err)
	}
	out.Reset()
	dir := t.TempDir()
	if err := run(context.Background(), []string{"migrate", "--data-dir", dir}, getenv, nil, &out, &errb); err != nil || !strings.Contains(out.String(), "migrations applied") {
		t.Errorf("migrate: %v %q", err, out.String())
	}
}
