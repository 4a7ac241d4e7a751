package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/sample"
)

type dedupJSON struct {
	Verdict string   `json:"verdict"`
	Scope   string   `json:"scope"`
	Reasons []string `json:"reasons"`
	Matches []struct {
		ListingID string   `json:"listing_id"`
		Kind      string   `json:"kind"`
		Score     float64  `json:"score"`
		TextScore float64  `json:"text_score"`
		Verdict   string   `json:"verdict"`
		Reasons   []string `json:"reasons"`
	} `json:"matches"`
	ImageErrors []struct{ URL, Code string } `json:"image_errors"`
}

// The same item from another supplier, under another title, is a
// duplicate in the same shop, with the evidence as reasons; the listing
// carries the verdict, the verdict filter finds it, and the check endpoint
// gives the same answer, by text and attributes or by image alone.
func TestDedupEndToEnd(t *testing.T) {
	t.Parallel()
	left, err := os.ReadFile(sample.Path("images/motorcycle_left.png"))
	if err != nil {
		t.Fatal(err)
	}
	right, err := os.ReadFile(sample.Path("images/motorcycle_right.png"))
	if err != nil {
		t.Fatal(err)
	}
	imgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "right.png") {
			w.Write(right)
			return
		}
		w.Write(left)
	}))
	defer imgSrv.Close()
	s := startServer(t, t.TempDir(), map[string]string{"IMAGES": "on", "IMAGES_ALLOW_HOSTS": strings.TrimPrefix(imgSrv.URL, "http://")})
	shop := createShop(t, s, "抖店", "douyin")
	products := sample.Products(t)
	// Products 0 and 1 of the sample are the same brush set from two
	// suppliers (cluster 0), with different titles.
	a, b := products[0], products[1]
	a.Images = []listinggen.ImageRef{{URL: imgSrv.URL + "/left.png"}}
	b.Images = nil
	var first, second generateJSON
	body, _ := json.Marshal(map[string]any{"product": a, "shop_ids": []string{shop.ID}})
	if resp := s.do("POST", "/v1/generate", body, &first); resp.StatusCode != http.StatusOK || first.Listings[0].Dedup.Verdict != "unique" {
		t.Fatalf("first: %d %+v", resp.StatusCode, first)
	}
	body, _ = json.Marshal(map[string]any{"product": b, "shop_ids": []string{shop.ID}})
	if resp := s.do("POST", "/v1/generate", body, &second); resp.StatusCode != http.StatusOK {
		t.Fatalf("second: %d", resp.StatusCode)
	}
	l := second.Listings[0]
	if l.Dedup.Verdict != "duplicate" || l.Status != "needs_review" || !strings.Contains(strings.Join(l.ReviewReasons, "|"), first.Listings[0].ID) {
		t.Fatalf("second listing: verdict %s, status %s, reasons %q", l.Dedup.Verdict, l.Status, l.ReviewReasons)
	}
	var page pageJSON
	s.do("GET", "/v1/listings?verdict=duplicate", nil, &page)
	if len(page.Items) != 1 || page.Items[0].ID != l.ID {
		t.Fatalf("verdict=duplicate: %+v", page.Items)
	}
	var full struct {
		Dedup dedupJSON `json:"dedup"`
	}
	s.do("GET", "/v1/listings/"+l.ID, nil, &full)
	if len(full.Dedup.Matches) == 0 || !slices.ContainsFunc(full.Dedup.Matches[0].Reasons, func(r string) bool {
		return strings.Contains(r, "listing the same values in the same order")
	}) {
		t.Fatalf("stored dedup report: %+v", full.Dedup)
	}

	// The check endpoint: the same evidence, nothing stored.
	var r dedupJSON
	check := map[string]any{"shop_id": shop.ID, "title": "新手化妆刷套装", "category": b.Category, "price": b.Price.Amount, "attributes": b.Attributes}
	if resp := s.do("POST", "/v1/dedup/check", check, &r); resp.StatusCode != http.StatusOK || r.Verdict != "duplicate" || r.Scope != "shop" ||
		len(r.Matches) != 2 || r.Matches[0].Kind != "same_shop" || len(r.Reasons) != 1 {
		t.Fatalf("check: %d %+v", resp.StatusCode, r)
	}
	// By image alone: the other photo of the stereo pair, under an
	// unrelated title, across the tenant.
	check = map[string]any{"title": "摩托车 模型", "image_urls": []string{imgSrv.URL + "/right.png", "http://10.0.0.1/x.png"}}
	if resp := s.do("POST", "/v1/dedup/check", check, &r); resp.StatusCode != http.StatusOK || len(r.Matches) != 1 ||
		r.Matches[0].ListingID != first.Listings[0].ID || r.Scope != "tenant" || len(r.ImageErrors) != 1 ||
		!strings.Contains(strings.Join(r.Matches[0].Reasons, "|"), "main images") {
		t.Fatalf("image check: %d %+v", resp.StatusCode, r)
	}
	s.do("GET", "/v1/listings", nil, &page)
	if len(page.Items) != 2 {
		t.Fatalf("the check stored something: %d listings", len(page.Items))
	}

	// Bad input names the field.
	var p problem
	resp := s.do("POST", "/v1/dedup/check", map[string]any{"title": "x", "image_phashes": []string{"zz"}, "price": "abc"}, &p)
	if resp.StatusCode != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
		t.Fatalf("bad input: %d %+v", resp.StatusCode, p)
	}
	resp = s.do("POST", "/v1/dedup/check", map[string]any{"title": "x", "shop_id": "nope"}, &p)
	if resp.StatusCode != http.StatusNotFound || !slices.Contains(p.fields(), "shop_id") {
		t.Fatalf("unknown shop: %d %+v", resp.StatusCode, p)
	}
}
