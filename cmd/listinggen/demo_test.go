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
	"time"

	"github.com/chromedp/chromedp"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
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
	walkthroughReason = ` (same shop): image 2 and main image 0 bits apart; `
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
			if e.Kind == dedup.EvidenceImage && e.Weight > 0 {
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
// its own, the supplier's advertising-law terms stay out of the copy, an
// edit that puts one back needs review, and the greps print what the
// README shows.
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
				if strings.Contains(copyText(l), v.Term) {
					t.Errorf("%s (%s): the supplier's %q (%s) is in the copy", id, l.Platform, v.Term, v.Rule)
				}
			}
		}
	}
	for _, l := range byProduct["1688-720118300108"] {
		if got := violatedTerms([]*listinggen.Listing{l}); !slices.Contains(got, "最佳") || !strings.Contains(copyText(l), "优选") {
			t.Errorf("the cat food on %s: source violations %q, copy %q; want 最佳 found and 优选 in its place", l.Platform, got, copyText(l))
		}
	}
	// An edit is checked again: a clean title is approved, and one that
	// puts an advertising-law term back needs review for it.
	cup := byProduct["1688-720118300101"][0]
	var edited listinggen.Listing
	s.do("PATCH", "/v1/listings/"+cup.ID, map[string]any{"copy": map[string]string{"title": "陶瓷咖啡杯碟套装 意式浓缩杯 80ml"}, "status": "approved", "version": 1}, &edited)
	if edited.Status != listinggen.StatusApproved {
		t.Errorf("approving the cup with a clean title: %s", edited.Status)
	}
	s.do("PATCH", "/v1/listings/"+cup.ID, map[string]any{"copy": map[string]string{"title": "最佳陶瓷咖啡杯"}, "version": 2}, &edited)
	if edited.Status != listinggen.StatusNeedsReview || len(edited.ReviewReasons) != 1 || !strings.Contains(edited.ReviewReasons[0], "广告法第九条") {
		t.Errorf("the cup titled 最佳陶瓷咖啡杯: %s, %q; want needs_review for 广告法第九条", edited.Status, edited.ReviewReasons)
	}
	// A photo checked against the whole catalogue: the motorcycle's other
	// shot finds both offers.
	var check listinggen.DedupReport
	s.do("POST", "/v1/dedup/check", map[string]any{"title": "摩托车模型", "image_urls": []string{"demo:moto-right.jpg"}}, &check)
	if check.Verdict != listinggen.VerdictDuplicate || !imageEvidence(&listinggen.Listing{Dedup: check}) {
		t.Errorf("dedup check of demo:moto-right.jpg: %+v", check)
	}
	// Apparel: both platforms want 3:4 main images too.
	for _, l := range byProduct["1688-720118300110"] {
		if v := variant(l, "main_3x4"); v == nil || v.Width*4 != v.Height*3 {
			t.Errorf("the apparel listing on %s has no 3:4 main image: %+v", l.Platform, l.Images)
		}
	}
}

// copyText is a listing's copy as one string.
func copyText(l *listinggen.Listing) string {
	parts := append([]string{l.Copy.Title, l.Copy.Description}, l.Copy.SellingPoints...)
	return strings.Join(append(parts, l.Copy.Keywords...), "\n")
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

// enumGroups are the message groups that name the values of the API's
// enumerations (see api/web's label).
var enumGroups = []string{"status", "verdict", "images", "job.state", "item", "code", "severity", "scope", "kind", "evidence",
	"platform", "field", "job.source", "rewriter", "variant"}

// untranslatedJS lists the text of the page that is an enumeration value
// as the API spells it (needs_review, image_near, douyin …) or a message
// key shown for want of a label (images.ready), with where it is. The
// values are those the page's own message table labels, which api/web's
// TestEveryEnumValueHasALabel holds complete. Text is cut at separators
// but not at spaces, so that sentences (reasons, rules, product text) may
// use such words as words.
const untranslatedJS = `((groups) => {
  const words = new Set();
  for (const k of Object.keys(LG.data.messages || {})) {
    for (const g of groups) if (k.startsWith(g + '.')) words.add(k.slice(g.length + 1));
  }
  const key = new RegExp('^(' + groups.map(g => g.replace('.', '\\.')).join('|') + ')\\.[a-z_.]+$');
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script')) continue;
    for (const part of n.textContent.split(/[·:：;；,，、()（）|—→\n\t]+/)) {
      const w = part.trim();
      if (words.has(w) || key.test(w)) {
        found.push(w + ' in <' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '>: ' + n.textContent.trim().slice(0, 80));
      }
    }
  }
  return found;
})(%s)`

// checkTranslated fails the test for every enumeration value the page
// shows as the API spells it.
func (b *browser) checkTranslated(page string) {
	b.t.Helper()
	groups, _ := json.Marshal(enumGroups)
	if found := jsEval[[]string](b, fmt.Sprintf(untranslatedJS, groups)); len(found) > 0 {
		lang := jsEval[string](b, `document.documentElement.lang`)
		b.t.Errorf("%s (%s) shows untranslated values: %q", page, lang, found)
	}
}

// TestDemoInTheBrowser is the first run the README promises, in headless
// chromium on a fresh data directory with the default image stage: two
// shops of a group made with the import page's form, 载入示例商品库, 生成文案;
// then at least 90% of the listings have their images ready and a
// duplicate is found by its photo's perceptual hash. A batch job of the
// catalogue (with a row that is not a product) gives the job pages
// something to show. Every page, in Chinese and then in English, shows
// each status, verdict, image state, job and item state, error code,
// severity, scope, match kind, evidence and platform in its language. The
// screenshots in docs/ come from this run (UI_SCREENSHOTS_DIR=$PWD/docs).
func TestDemoInTheBrowser(t *testing.T) {
	s := startServer(t, t.TempDir(), map[string]string{"IMAGES": "on", "JOB_POLL": "50ms"})
	b := newBrowser(t, s.url)
	products := demoProducts(t)

	b.open("/ui/import")
	b.createShops("家居店群")
	b.do("load the demo catalogue", chromedp.Click(chromedp.CSS(`#load-sample`)))
	b.waitFor("demo catalogue loaded", fmt.Sprintf(`document.querySelector('#products').value.trim().split('\n').length === %d`, len(products)))
	b.do("generate", chromedp.Click(chromedp.CSS(`#generate`)))
	b.waitForWithin("generation done", `document.querySelector('#progress-text').textContent.startsWith('完成')`, 5*time.Minute)
	want := fmt.Sprintf("完成: %d · 错误: 0", 2*len(products))
	if got := jsEval[string](b, `document.querySelector('#progress-text').textContent`); got != want {
		t.Errorf("import progress %q, want %q", got, want)
	}
	b.checkClean("import the demo")

	_, listings := demoListings(t, s)
	ready, flagged := 0, 0
	var withImage, withSourceTerms *listinggen.Listing
	for _, l := range listings {
		if l.ImagesStatus == listinggen.ImagesReady {
			ready++
		}
		if l.Status == listinggen.StatusNeedsReview {
			flagged++
		}
		if withImage == nil && imageEvidence(l) {
			withImage = l
		}
		if withSourceTerms == nil && slices.Contains(violatedTerms([]*listinggen.Listing{l}), "最佳") {
			withSourceTerms = l
		}
	}
	if len(listings) != 2*len(products) || ready*10 < len(listings)*9 {
		t.Errorf("%d of %d listings have their images ready, want at least 90%% of %d", ready, len(listings), 2*len(products))
	}
	if withImage == nil || flagged == 0 {
		t.Fatalf("no dedup match carries image evidence (%d listings need review)", flagged)
	}
	job := submitDemoJob(t, s, products)

	// The pages in Chinese, then in English; one listing of each kind.
	pages := []string{"/", "/?status=needs_review", "/?job=" + job, "/ui/import", "/ui/jobs", "/ui/jobs/" + job}
	for _, l := range append(oneOfEachKind(listings), withSourceTerms, withImage) {
		if p := "/ui/listings/" + l.ID; !slices.Contains(pages, p) {
			pages = append(pages, p)
		}
	}
	// The screenshots: the queue, a listing whose supplier broke the
	// advertising law, the images and duplicates of one found by its
	// photo, and the batch job.
	shots := map[string]string{"/": "ui-queue", "/ui/jobs/" + job: "ui-job",
		"/ui/listings/" + withSourceTerms.ID: "ui-listing", "/ui/listings/" + withImage.ID: "ui-listing-dedup"}
	for _, lang := range []string{"zh", "en"} {
		b.open("/ui/lang/" + lang + "?next=/")
		for _, p := range pages {
			b.open(p)
			b.checkTranslated(p)
			if name, ok := shots[p]; ok && lang == "zh" {
				if name == "ui-listing-dedup" {
					jsEval[bool](b, `document.querySelector('#images-status').closest('section').scrollIntoView() === undefined`)
				}
				b.screenshot(name)
			}
		}
	}
	b.checkClean("every page in both languages")
}

// submitDemoJob runs the demo catalogue as a batch job for the group, with
// a row that is not a valid product, and returns the job's id once it has
// completed.
func submitDemoJob(t *testing.T, s *server, products [][]byte) string {
	t.Helper()
	items := []json.RawMessage{}
	for _, p := range products {
		items = append(items, p)
	}
	items = append(items, json.RawMessage(`{"id": "bad-1", "title": "价格不是数字的商品", "price": {"amount": "免费", "currency": "CNY"}}`))
	var job struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if r := s.do("POST", "/v1/jobs", map[string]any{"shop_group": "家居店群", "items": items}, &job); r.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/jobs: %d", r.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for job.State != string(listinggen.JobCompleted) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo job is %s after 3 minutes", job.State)
		}
		time.Sleep(100 * time.Millisecond)
		s.do("GET", "/v1/jobs/"+job.ID, nil, &job)
	}
	return job.ID
}

// oneOfEachKind picks a listing of each kind the listing view shows
// differently: status, images, verdict, match kinds, and whether the
// supplier's text broke a rule, on each platform.
func oneOfEachKind(listings []*listinggen.Listing) []*listinggen.Listing {
	seen := map[string]bool{}
	var out []*listinggen.Listing
	for _, l := range listings {
		var kinds []string
		for _, m := range l.Dedup.Matches {
			kinds = append(kinds, m.Kind)
		}
		k := fmt.Sprint(l.Platform, l.Status, l.ImagesStatus, l.Dedup.Verdict, kinds, len(l.Compliance.SourceViolations) > 0)
		if !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	return out
}
