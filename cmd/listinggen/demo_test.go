package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

// The README's walkthrough, as a fresh `make run` answers it: two shops of
// one group, the demo catalogue generated for both, then these greps of
// GET /v1/listings?limit=200 (`grep -o RE | sort | uniq -c`).
const (
	walkthroughImagesRE = `"images_status":"[a-z]*"`
	walkthroughImages   = `     54 "images_status":"ready"
`
	walkthroughStatusRE = `"platform":"[a-z]*","status":"[a-z_]*"`
	walkthroughStatuses = `     26 "platform":"douyin","status":"draft"
      1 "platform":"douyin","status":"needs_review"
     26 "platform":"taobao","status":"draft"
      1 "platform":"taobao","status":"needs_review"
`
	// walkthroughReason is how the flagged listings' reason reads, after
	// the id of the listing it names.
	walkthroughReason = ` (same shop): image 2 and main image 0 bits apart; 4 of 4 common attributes equal; `
)

// demoProducts are the demo catalogue's lines.
func demoProducts(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, line := range bytes.Split(listinggen.DemoCatalogue, []byte("\n")) {
		if len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}

// createGroupShop creates a shop in the walkthrough's shop group.
func createGroupShop(t testing.TB, s *server, name, platform string) string {
	t.Helper()
	var shop shopJSON
	body := map[string]string{"name": name, "platform": platform, "group": "家居店群"}
	if resp := s.do("POST", "/v1/shops", body, &shop); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create shop %s: %d", name, resp.StatusCode)
	}
	return shop.ID
}

// demoListings reads every listing (the demo makes fewer than a page).
func demoListings(t testing.TB, s *server) ([]byte, []*listinggen.Listing) {
	t.Helper()
	resp, err := http.Get(s.url + "/v1/listings?limit=200")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Items      []*listinggen.Listing `json:"items"`
		NextCursor string                `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &page); err != nil || page.NextCursor != "" {
		t.Fatalf("GET /v1/listings: %d, %v, next cursor %q", resp.StatusCode, err, page.NextCursor)
	}
	return body, page.Items
}

// uniqCount is `grep -o re | sort | uniq -c` (GNU coreutils' format).
func uniqCount(body []byte, re string) string {
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(re).FindAll(body, -1) {
		counts[string(m)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%7d %s\n", counts[k], k)
	}
	return b.String()
}

// imageEvidence reports whether a listing's dedup report carries a match
// decided with its photos' perceptual hashes.
func imageEvidence(l *listinggen.Listing) bool {
	for _, m := range l.Dedup.Matches {
		for _, e := range m.Evidence {
			if e.Kind == "image_near" {
				return true
			}
		}
	}
	return false
}

// TestDemoWalkthrough holds the README's walkthrough to what it says: on a
// fresh data directory with the default image stage, the demo catalogue
// for two shops of a group gives every listing its photos' variants, the
// two offers that share a photo are found by it, each shop gets copy of
// its own, the supplier's advertising-law terms stay out of the copy, and
// the greps print what the README shows.
func TestDemoWalkthrough(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), map[string]string{"IMAGES": "on"})
	douyin := createGroupShop(t, s, "抖店一号", "douyin")
	taobao := createGroupShop(t, s, "淘宝二号", "taobao")
	products := demoProducts(t)
	for _, raw := range products {
		var out generateJSON
		if resp := s.do("POST", "/v1/generate", generateBody(t, raw, douyin, taobao), &out); resp.StatusCode != http.StatusOK || len(out.Listings) != 2 {
			t.Fatalf("generate %.40s: %d, %d listings", raw, resp.StatusCode, len(out.Listings))
		}
	}
	body, listings := demoListings(t, s)
	if len(listings) != 2*len(products) {
		t.Fatalf("%d listings, want %d", len(listings), 2*len(products))
	}
	if got := uniqCount(body, walkthroughImagesRE); got != walkthroughImages {
		t.Errorf("images:\n%s\nthe README says:\n%s", got, walkthroughImages)
	}
	if got := uniqCount(body, walkthroughStatusRE); got != walkthroughStatuses {
		t.Errorf("statuses:\n%s\nthe README says:\n%s", got, walkthroughStatuses)
	}

	byProduct := map[string][]*listinggen.Listing{}
	for _, l := range listings {
		byProduct[l.ProductID] = append(byProduct[l.ProductID], l)
		if l.Status != listinggen.StatusNeedsReview {
			continue
		}
		if len(l.ReviewReasons) != 1 || !strings.HasPrefix(l.ReviewReasons[0], "dedup: duplicate of listing ") ||
			!strings.Contains(l.ReviewReasons[0], walkthroughReason) || !imageEvidence(l) {
			t.Errorf("%s (%s) needs review for %q; want the shared photo's duplicate", l.ProductID, l.Platform, l.ReviewReasons)
		}
	}
	for id, ls := range byProduct {
		if len(ls) != 2 || ls[0].Copy.Title == ls[1].Copy.Title {
			t.Errorf("%s: the two shops' titles are not two different ones: %q", id, titles(ls))
		}
		for _, l := range ls {
			for _, v := range l.Compliance.SourceViolations {
				if strings.Contains(l.Copy.Title+l.Copy.Description+strings.Join(l.Copy.SellingPoints, ""), v.Term) {
					t.Errorf("%s (%s): the supplier's %q (%s) is in the copy", id, l.Platform, v.Term, v.Rule)
				}
			}
		}
	}
	if got := violatedTerms(byProduct["1688-720118300108"]); !slices.Contains(got, "最佳") {
		t.Errorf("the cat food's source violations %q do not name 最佳", got)
	}
	// Apparel: both platforms want 3:4 main images too.
	for _, l := range byProduct["1688-720118300110"] {
		if v := variant(l, "main_3x4"); v == nil || v.Width*4 != v.Height*3 {
			t.Errorf("the apparel listing on %s has no 3:4 main image: %+v", l.Platform, l.Images)
		}
	}
}

func titles(ls []*listinggen.Listing) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Copy.Title)
	}
	return out
}

func violatedTerms(ls []*listinggen.Listing) []string {
	var out []string
	for _, l := range ls {
		for _, v := range l.Compliance.SourceViolations {
			out = append(out, v.Term)
		}
	}
	return out
}

// variant returns the first image's variant of that name.
func variant(l *listinggen.Listing, name string) *listinggen.ImageVariant {
	if len(l.Images) == 0 {
		return nil
	}
	for i, v := range l.Images[0].Variants {
		if v.Name == name {
			return &l.Images[0].Variants[i]
		}
	}
	return nil
}
