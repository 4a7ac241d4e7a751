package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/sample"
)

// chromiumPath is Debian's chromium, which scripts/install-chromium.sh
// installs for `make test`.
const chromiumPath = "/usr/bin/chromium"

const xssTitle = `<img src=x onerror=alert(1)>`

type uiListing struct {
	ID      string `json:"id"`
	ShopID  string `json:"shop_id"`
	Version int    `json:"version"`
	Status  string `json:"status"`
	Copy    struct {
		Title string `json:"title"`
	} `json:"copy"`
	Source struct {
		Title string `json:"title"`
	} `json:"source"`
	Compliance struct {
		OK bool `json:"ok"`
	} `json:"compliance"`
	Dedup struct {
		Matches []struct {
			ListingID string `json:"listing_id"`
		} `json:"matches"`
	} `json:"dedup"`
}

// browser is a headless chromium tab on the server under test, with what
// the page reported: console errors, exceptions, CSP violations, dialogs.
type browser struct {
	t        *testing.T
	ctx      context.Context
	base     string
	shotsDir string

	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s is missing: run scripts/install-chromium.sh", chromiumPath)
		}
		t.Skipf("%s is missing (scripts/install-chromium.sh installs it); skipping the browser tests", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "zh-CN"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	shots := os.Getenv("UI_SCREENSHOTS_DIR")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "listinggen-ui-"); err != nil {
			t.Fatal(err)
		}
	}
	b := &browser{t: t, ctx: ctx, base: base, shotsDir: shots}
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.report("dialog opened: " + d.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// A refused request logs a network error: the page shows
			// those itself, and the tests expect some.
			if m.Source == "network" {
				continue
			}
			if m.IsException() || m.Type == "error" || strings.Contains(m.Text, "Content Security Policy") {
				b.report(fmt.Sprintf("console %s: %s (%s)", m.Type, m.Text, m.URL))
			}
		}
	}()
	return b
}

func (b *browser) report(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// checkClean fails the test if the page reported anything since the
// last check: every page must run without errors and without tripping CSP.
func (b *browser) checkClean(step string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Errorf("%s: the page reported %q", step, b.problems)
		b.problems = nil
	}
}

// do runs actions with a time limit, failing the test with the step name.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// jsEval evaluates a JavaScript expression in the page.
func jsEval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript condition every 50 ms until it is true,
// across page loads (a reload in between is not an error).
func (b *browser) waitFor(step, cond string) {
	b.t.Helper()
	b.waitForWithin(step, cond, time.Minute)
}

// waitForWithin is waitFor with a time limit of its own: generating the
// catalogue takes long on a loaded machine (make test runs every package
// at once).
func (b *browser) waitForWithin(step, cond string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: waiting for %s: %v", step, cond, lastErr)
}

// screenshot saves the viewport as a compressed PNG.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		b.t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(b.shotsDir, name+".png")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// clear empties a form field (SetValue refuses an empty value).
func (b *browser) clear(selector string) {
	b.t.Helper()
	jsEval[bool](b, fmt.Sprintf(`(document.querySelector(%q).value = '') === ''`, selector))
}

// createShops makes the two shops of the browser tests, 抖店一号 on Douyin
// and 淘宝二号 on Taobao, in group, with the import page's form (which
// ticks each new shop).
func (b *browser) createShops(group string) {
	b.t.Helper()
	for _, shop := range []struct{ name, platform string }{{"抖店一号", "douyin"}, {"淘宝二号", "taobao"}} {
		b.do("create shop "+shop.name,
			chromedp.SetValue(chromedp.CSS(`#shop-form [name=name]`), shop.name),
			chromedp.SetValue(chromedp.CSS(`#shop-form [name=platform]`), shop.platform),
			chromedp.SetValue(chromedp.CSS(`#shop-form [name=group]`), group),
			chromedp.Click(chromedp.CSS(`#shop-form button`)))
		b.waitFor("shop "+shop.name+" listed", fmt.Sprintf(`document.querySelector('#shop-list').textContent.includes(%q)`, shop.name))
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
	b.waitFor("open "+path, `document.body && document.body.dataset.ready === '1'`)
}

// TestPreviewUIInABrowser drives the preview UI in headless chromium
// against the real server with the fake model: import the catalogue
// without curl, review in the queue with the keyboard and in bulk, edit
// with the live counter and violation highlights, regenerate with
// streamed output, follow a duplicate, follow a batch job from its view
// to its listings, and a product title that is an XSS attempt renders as
// text and runs nothing.
func TestPreviewUIInABrowser(t *testing.T) {
	fake := openaitest.New(openaitest.Config{StreamChunkRunes: 4, StreamChunkDelay: 5 * time.Millisecond})
	defer fake.Close()
	// One batch worker: the job below pauses at its budget after exactly
	// one item.
	s := startServer(t, t.TempDir(), map[string]string{"LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "WORKERS": "1", "JOB_POLL": "50ms"})
	b := newBrowser(t, s.url)

	// Import: two shops in one group made with the form, then products
	// pasted as JSON lines, one of them not JSON at all.
	b.open("/ui/import")
	b.createShops("女装店群")
	var lines []string
	for _, l := range sample.RawLines(t)[:6] {
		lines = append(lines, string(l))
	}
	xss := `{"id":"xss-1","title":"` + xssTitle + `","category":"女装/连衣裙","attributes":{"材质":"棉"}}`
	products := strings.Join(append(lines, "this is not json", xss), "\n")
	b.do("paste products", chromedp.SetValue(chromedp.CSS(`#products`), products), chromedp.Click(chromedp.CSS(`#generate`)))
	b.waitForWithin("generation done", `document.querySelector('#progress-text').textContent.startsWith('完成')`, 5*time.Minute)
	if got := jsEval[string](b, `document.querySelector('#progress-text').textContent`); !strings.Contains(got, "完成: 14 ") || !strings.Contains(got, "错误: 1") {
		t.Errorf("import progress %q, want 14 listings (7 products × 2 shops) and 1 error", got)
	}
	if got := jsEval[string](b, `document.querySelector('#import-errors').textContent`); !strings.Contains(got, "第 7 行") {
		t.Errorf("import errors %q should name line 7", got)
	}
	b.checkClean("import")

	var page struct {
		Items []uiListing `json:"items"`
	}
	s.do("GET", "/v1/listings?limit=200", nil, &page)
	if len(page.Items) != 14 {
		t.Fatalf("%d listings after the import, want 14", len(page.Items))
	}

	// The queue, newest first, with the first row current.
	b.open("/")
	b.waitFor("queue rows", `document.querySelectorAll('#queue tbody tr').length === 14`)
	b.screenshot("queue")
	if n := jsEval[int](b, `document.querySelectorAll('img[src="x"]').length`); n != 0 {
		t.Errorf("the queue has %d injected <img> elements", n)
	}

	// XSS: the product title is shown as text in the listing view.
	var xssListing uiListing
	for _, l := range page.Items {
		if l.Source.Title == xssTitle {
			xssListing = l
		}
	}
	if xssListing.ID == "" {
		t.Fatalf("no listing of the XSS product among %d", len(page.Items))
	}
	b.open("/ui/listings/" + xssListing.ID)
	if got := jsEval[string](b, `document.querySelector('#source-title').textContent`); got != xssTitle {
		t.Errorf("source title renders as %q, want the literal text %q", got, xssTitle)
	}
	if n := jsEval[int](b, `document.querySelectorAll('img[src="x"], #source-title *:not(ins):not(del):not(mark)').length`); n != 0 {
		t.Errorf("the XSS title made %d elements", n)
	}
	b.checkClean("xss listing")

	// Keyboard review in the queue: j moves down, a approves the current row.
	b.open("/")
	second := jsEval[string](b, `document.querySelectorAll('#queue tbody tr')[1].dataset.id`)
	b.do("j then a", chromedp.KeyEvent("j"), chromedp.KeyEvent("a"))
	b.waitFor("row approved", `document.querySelectorAll('#queue tbody tr')[1].querySelector('.status .badge').classList.contains('status-approved') ||
		document.querySelectorAll('#queue tbody tr')[1].querySelector('.row-msg').textContent !== ''`)
	var got uiListing
	s.do("GET", "/v1/listings/"+second, nil, &got)
	if got.Compliance.OK && got.Status != "approved" {
		t.Errorf("after j, a in the queue: listing %s is %s, want approved", second, got.Status)
	}

	// The listing view: edit the title, watch the counter and highlights.
	var target uiListing
	for _, l := range page.Items {
		if l.ID != second && l.Source.Title != xssTitle && l.Status != "approved" {
			target = l
			break
		}
	}
	b.open("/ui/listings/" + target.ID)
	b.screenshot("listing")
	b.do("press e", chromedp.KeyEvent("e"), chromedp.WaitVisible(chromedp.CSS(`#editor`)))
	bad := "最好的连衣裙 第一品牌"
	b.clear("#edit-title")
	b.do("type a title", chromedp.SendKeys(chromedp.CSS(`#edit-title`), bad))
	wantCounter := fmt.Sprintf("%d / 60", listinggen.TitleUnits(bad))
	b.waitFor("counter", fmt.Sprintf(`document.querySelector('#counter').textContent === %q`, wantCounter))
	b.waitFor("violation highlight", `[...document.querySelectorAll('#edit-preview mark.violation')].some(m => m.textContent.includes('第一') || m.textContent.includes('最好'))`)
	if rule := jsEval[string](b, `document.querySelector('#edit-preview mark.violation').title`); rule == "" {
		t.Error("the highlighted violation has no rule")
	}
	b.screenshot("listing-edit")
	long := strings.Repeat("长", 31)
	b.do("type past the limit", chromedp.SendKeys(chromedp.CSS(`#edit-title`), long))
	b.waitFor("counter over", `document.querySelector('#counter').classList.contains('over')`)
	clean := "雪纺连衣裙 收腰显瘦"
	b.clear("#edit-title")
	b.do("fix the title", chromedp.SendKeys(chromedp.CSS(`#edit-title`), clean))
	b.waitFor("highlights gone", `document.querySelector('#check-state').textContent === '已实时检查' && document.querySelectorAll('#edit-preview mark').length === 0`)
	b.do("save", chromedp.Click(chromedp.CSS(`#save`)))
	b.waitFor("saved", fmt.Sprintf(`document.body.dataset.ready === '1' && document.querySelector('#generated-title').textContent === %q`, clean))

	// Approve with the keyboard on the listing view.
	b.do("press a", chromedp.KeyEvent("a"))
	b.waitFor("approved badge", `document.querySelector('#status-badge').classList.contains('status-approved') || document.querySelector('#action-msg').textContent !== ''`)
	if msg := jsEval[string](b, `document.querySelector('#action-msg').textContent`); msg != "已通过" {
		t.Errorf("approving with a: %q", msg)
	}
	s.do("GET", "/v1/listings/"+target.ID, nil, &got)
	if got.Status != "approved" || got.Copy.Title != clean {
		t.Errorf("after edit and a: %s %q", got.Status, got.Copy.Title)
	}
	b.checkClean("edit and approve")

	// Regenerate: the model's output streams into the page, then the
	// validated listing replaces the copy.
	streams := fake.Stats().Streams
	b.do("regenerate", chromedp.Click(chromedp.CSS(`#regenerate`)))
	b.waitFor("streamed text", `document.querySelector('#stream-out').textContent.length > 10`)
	b.waitForWithin("stream done", `document.querySelector('#stream-status').textContent.startsWith('完成')`, 3*time.Minute)
	s.do("GET", "/v1/listings/"+target.ID, nil, &got)
	streamed := jsEval[string](b, `document.querySelector('#stream-out').textContent`)
	if fake.Stats().Streams != streams+1 || !strings.Contains(streamed, got.Copy.Title) ||
		jsEval[string](b, `document.querySelector('#generated-title').textContent`) != got.Copy.Title {
		t.Errorf("streamed %q; stored title %q; streams %d → %d", streamed, got.Copy.Title, streams, fake.Stats().Streams)
	}
	b.checkClean("regenerate")

	// Bulk approve the listings without blocking problems.
	b.open("/?compliance=ok&status=needs_review")
	rows := jsEval[[]string](b, `[...document.querySelectorAll('#queue tbody tr')].map(r => r.dataset.id)`)
	if len(rows) < 2 {
		t.Fatalf("only %d rows to bulk approve", len(rows))
	}
	b.do("bulk approve", chromedp.Click(chromedp.CSS(`#select-all`)), chromedp.Click(chromedp.CSS(`#bulk-approve`)))
	b.waitFor("bulk done", `document.querySelector('#bulk-result').textContent !== ''`)
	for _, id := range rows {
		s.do("GET", "/v1/listings/"+id, nil, &got)
		if got.Status != "approved" {
			t.Errorf("after bulk approve: %s is %s", id, got.Status)
		}
	}
	b.checkClean("bulk approve")

	reviewJobInTheBrowser(t, s, b)

	// Follow a duplicate match to the listing it names.
	var withMatch uiListing
	for _, l := range page.Items {
		if len(l.Dedup.Matches) > 0 {
			withMatch = l
			break
		}
	}
	if withMatch.ID == "" {
		t.Fatal("no listing has a dedup match: two shops of one group got the same products")
	}
	b.open("/ui/listings/" + withMatch.ID)
	b.do("follow match", chromedp.Click(chromedp.CSS(`#matches a.match`)))
	b.waitFor("match page", fmt.Sprintf(`location.pathname === '/ui/listings/%s' && document.body.dataset.ready === '1'`, withMatch.Dedup.Matches[0].ListingID))

	// English on request; the choice sticks.
	b.do("switch language", chromedp.Click(chromedp.CSS(`#lang-switch`)))
	b.waitFor("english", `document.body.dataset.ready === '1' && document.querySelector('#approve').textContent === 'Approve (a)'`)
	b.open("/")
	if h := jsEval[string](b, `document.querySelector('h1').textContent`); h != "Review queue" {
		t.Errorf("after switching to English the queue says %q", h)
	}

	// A state-changing request from the page without the CSRF token is
	// refused, and so is one that claims another origin.
	if st := jsEval[int](b, `fetch('/v1/listings/`+target.ID+`', {method: 'PATCH', headers: {'Content-Type': 'application/json'}, body: '{"status":"rejected"}'}).then(r => r.status)`); st != 403 {
		t.Errorf("PATCH without the CSRF token: %d, want 403", st)
	}
	b.checkClean("end")
}

// reviewJobInTheBrowser submits a batch job through the API (three new
// products for both shops, and a poison row that is not a valid product,
// with a hostile title) under a token budget that pauses it after its
// first item, then follows it in the job view: paused, resumed from the
// page with the budget lifted (a CSRF-protected POST), polled to 100%,
// the poison row's error listed as text, a download, and "review this
// job's listings" opening the queue filtered by the job.
func reviewJobInTheBrowser(t *testing.T, s *server, b *browser) {
	t.Helper()
	var shops struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	s.do("GET", "/v1/shops", nil, &shops)
	var shopIDs []string
	for _, sh := range shops.Items {
		shopIDs = append(shopIDs, sh.ID)
	}
	var items []any
	for _, p := range sample.Products(t)[6:9] {
		p.Images = nil
		items = append(items, p)
	}
	items = append(items, map[string]any{"id": "poison-1", "title": xssTitle, "price": map[string]string{"amount": "free", "currency": "CNY"}})
	var job struct {
		ID    string `json:"id"`
		Items int    `json:"items"`
	}
	if r := s.do("POST", "/v1/jobs", map[string]any{"shop_ids": shopIDs, "items": items, "max_tokens": 1}, &job); r.StatusCode != 202 || job.Items != 7 {
		t.Fatalf("POST /v1/jobs: %d, %d items (want 3 products × 2 shops and the poison row)", r.StatusCode, job.Items)
	}

	b.open("/ui/jobs")
	b.screenshot("jobs")
	b.do("open the job", chromedp.Click(chromedp.CSS(`#jobs a[href="/ui/jobs/`+job.ID+`"]`)))
	b.waitFor("job view", fmt.Sprintf(`location.pathname === '/ui/jobs/%s' && document.body.dataset.ready === '1'`, job.ID))
	// The page polls until the budget has paused the job and every item
	// that had not started.
	b.waitForWithin("paused", `document.querySelector('#job-state').dataset.state === 'paused' &&
		document.querySelector('#count-queued').textContent === '0' && document.querySelector('#count-running').textContent === '0'`, 3*time.Minute)
	if got := jsEval[[]string](b, `['done', 'paused', 'invalid'].map(s => document.querySelector('#count-' + s).textContent)`); fmt.Sprint(got) != "[1 5 1]" {
		t.Errorf("paused job: done, paused, invalid = %v, want [1 5 1]", got)
	}
	if jsEval[bool](b, `document.querySelector('#job-resume').disabled || document.querySelector('#resume-budget').hidden`) {
		t.Error("a paused job cannot be resumed from the page")
	}
	// The poison row's error, its hostile title as text.
	if got := jsEval[string](b, `document.querySelector('#job-errors .product-title').textContent`); got != xssTitle {
		t.Errorf("the poison row's title shows as %q", got)
	}
	if got := jsEval[string](b, `document.querySelector('#job-errors .error').textContent`); !strings.Contains(got, "price.amount") {
		t.Errorf("the poison row's error %q does not name price.amount", got)
	}
	if n := jsEval[int](b, `document.querySelectorAll('img[src="x"], #job-errors td *:not(span)').length`); n != 0 {
		t.Errorf("the poison row made %d elements", n)
	}

	// Resume with the budget lifted; the page polls the job to its end.
	b.clear("#resume-max-tokens")
	b.do("resume", chromedp.SendKeys(chromedp.CSS(`#resume-max-tokens`), "0"), chromedp.Click(chromedp.CSS(`#job-resume`)))
	b.waitForWithin("completed", `document.querySelector('#job-state').dataset.state === 'completed'`, 3*time.Minute)
	if got := jsEval[string](b, `document.querySelector('#job-msg').textContent`); got != "已重新排队: 5" {
		t.Errorf("resume said %q", got)
	}
	if got := jsEval[[]string](b, `[document.querySelector('#job-progress').value, document.querySelector('#job-progress').max,
		document.querySelector('#progress-text').textContent, document.querySelector('#count-done').textContent].map(String)`); fmt.Sprint(got) != "[6 6 6 / 6 · 100.0% 6]" {
		t.Errorf("finished job: progress value, max, text, done = %q", got)
	}
	if got := jsEval[string](b, `document.querySelector('#job-tokens').textContent`); got == "0 / 0" {
		t.Error("the job's tokens stayed 0 / 0")
	}
	if got := jsEval[string](b, `document.querySelector('#job-max-tokens').textContent`); got != "—" {
		t.Errorf("the lifted token budget shows as %q", got)
	}
	if jsEval[bool](b, `document.querySelector('#resume-budget').offsetParent !== null || !document.querySelector('#job-cancel').disabled`) {
		t.Error("a completed job still offers resume or cancel")
	}
	if st := jsEval[int](b, `fetch(document.querySelector('#download-xlsx').href).then(r => r.status)`); st != 200 {
		t.Errorf("download xlsx: %d", st)
	}
	b.checkClean("job view")
	b.screenshot("job")

	// Its listings: the queue filtered by the job, the same six the API gives.
	var listings struct {
		Items []uiListing `json:"items"`
	}
	s.do("GET", "/v1/listings?job_id="+job.ID, nil, &listings)
	b.do("review the job's listings", chromedp.Click(chromedp.CSS(`#review-listings`)))
	b.waitFor("queue of the job", fmt.Sprintf(`location.search === '?job=%s' && document.body.dataset.ready === '1'`, job.ID))
	rows := jsEval[[]string](b, `[...document.querySelectorAll('#queue tbody tr')].map(r => r.dataset.id)`)
	var want []string
	for _, l := range listings.Items {
		want = append(want, l.ID)
	}
	if len(want) != 6 || fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("the job's queue shows %v, want its 6 listings %v", rows, want)
	}
	if got := jsEval[string](b, `document.querySelector('#filter-job').value`); got != job.ID {
		t.Errorf("the job filter shows %q", got)
	}
	if !strings.Contains(jsEval[string](b, `document.querySelector('#job-filter').textContent`), "只显示批量任务的商品") {
		t.Error("the queue does not say it shows one job's listings")
	}
	b.screenshot("job-queue")
	b.checkClean("job queue")
}
