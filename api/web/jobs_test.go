package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
	"golang.org/x/net/html"
)

// fakeJobs is a JobReader whose answers the test sets.
type fakeJobs struct {
	GetFn   func(ctx context.Context, tenant, id string) (*listinggen.Job, error)
	ListFn  func(ctx context.Context, tenant string, f listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error)
	ItemsFn func(ctx context.Context, tenant, id string, f listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error)
}

var _ JobReader = (*fakeJobs)(nil)

func (f *fakeJobs) Get(ctx context.Context, tenant, id string) (*listinggen.Job, error) {
	return f.GetFn(ctx, tenant, id)
}

func (f *fakeJobs) List(ctx context.Context, tenant string, fl listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error) {
	return f.ListFn(ctx, tenant, fl)
}

func (f *fakeJobs) Items(ctx context.Context, tenant, id string, fl listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error) {
	return f.ItemsFn(ctx, tenant, id, fl)
}

const hostileTitle = `<img src=x onerror=alert(1)>`

// uiServer serves the UI on a real SQLite store as tenant "default", with
// jobs from jobs (nil: batch jobs off). Errors become their status codes.
func uiServer(t *testing.T, jobs JobReader) (*httptest.Server, listinggen.Store) {
	t.Helper()
	store := testStore(t)
	ui, err := New(DefaultConfig(), Deps{Store: store, Rules: func(*listinggen.Shop) listinggen.TextRules { return listinggen.TextRules{TitleMaxUnits: 60} },
		Jobs: jobs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status := map[string]int{listinggen.ENOTFOUND: 404, listinggen.EUNAVAILABLE: 503, listinggen.EINVALID: 422}[listinggen.ErrorCode(err)]
		if status == 0 {
			t.Errorf("unexpected error: %v", err)
			status = 500
		}
		_ = c.NoContent(status)
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { c.Set("tenant", "default"); return next(c) }
	})
	ui.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, store
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// parse reads a page as a browser would and finds elements by id or class.
type doc struct{ root *html.Node }

func parseDoc(t *testing.T, body string) doc {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc{n}
}

func (d doc) all(match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func (d doc) byID(id string) *html.Node {
	if ns := d.all(func(n *html.Node) bool { return attr(n, "id") == id }); len(ns) > 0 {
		return ns[0]
	}
	return nil
}

func (d doc) byClass(class string) []*html.Node {
	return d.all(func(n *html.Node) bool { return slices.Contains(strings.Fields(attr(n, "class")), class) })
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// The job view shows progress, the counts, throughput, ETA, spend, links
// to the results and to the job's listings in the queue, and the failed
// items, whose product and model text stays text.
func TestJobPageRendersProgressAndEscapedErrors(t *testing.T) {
	t.Parallel()
	eta := 75.4
	job := &listinggen.Job{ID: "job-1", State: listinggen.JobRunning, Source: `<script>alert("file")</script>.csv`, Rows: 9, Items: 10,
		Counts: map[listinggen.ItemState]int{listinggen.ItemQueued: 1, listinggen.ItemRunning: 1, listinggen.ItemDone: 6,
			listinggen.ItemFailed: 1, listinggen.ItemInvalid: 1, listinggen.ItemSkipped: 0, listinggen.ItemPaused: 0, listinggen.ItemCancelled: 0},
		PromptTokens: 1200, CompletionTokens: 340, CostUSD: 0.0123, ItemsPerSecond: 2.5, ETASeconds: &eta, CreatedAt: time.Now()}
	var gotFilter listinggen.JobItemFilter
	jobs := &fakeJobs{
		GetFn: func(_ context.Context, tenant, id string) (*listinggen.Job, error) {
			if tenant != "default" || id != job.ID {
				return nil, listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
			}
			return job, nil
		},
		ItemsFn: func(_ context.Context, _, _ string, f listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error) {
			gotFilter = f
			return listinggen.Page[*listinggen.JobItem]{Items: []*listinggen.JobItem{
				{Row: 3, ShopID: job.Options.ShopIDs[0], State: listinggen.ItemFailed, Product: listinggen.Product{ID: "p-<3>", Title: hostileTitle},
					Error: `EINVALID: processing the item failed (panic: <b>poison</b>)`},
				{Row: 7, State: listinggen.ItemInvalid, Error: "title: is required"},
			}, NextCursor: "next-errors"}, nil
		},
	}
	srv, store := uiServer(t, jobs)
	shop := &listinggen.Shop{TenantID: "default", Name: `<i>抖店</i>`, Platform: listinggen.PlatformDouyin}
	if err := store.CreateShop(context.Background(), shop); err != nil {
		t.Fatal(err)
	}
	job.Options.ShopIDs = []string{shop.ID}

	status, body, hdr := get(t, srv.URL+"/ui/jobs/job-1")
	if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("job page: %d, CSP %q", status, hdr.Get("Content-Security-Policy"))
	}
	if !slices.Equal(gotFilter.States, []listinggen.ItemState{listinggen.ItemFailed, listinggen.ItemInvalid}) || gotFilter.Cursor != "" {
		t.Errorf("errors asked with %+v, want failed and invalid from the start", gotFilter)
	}
	d := parseDoc(t, body)
	// Progress: done + failed (7) of the items that run (10 − 1 invalid).
	bar := d.byID("job-progress")
	if bar == nil || attr(bar, "value") != "7" || attr(bar, "max") != "9" || text(d.byID("progress-text")) != "7 / 9 · 77.8%" {
		t.Errorf("progress bar %v, text %q", bar, text(d.byID("progress-text")))
	}
	for state, want := range map[string]string{"done": "6", "failed": "1", "invalid": "1", "queued": "1", "running": "1", "cancelled": "0"} {
		if got := text(d.byID("count-" + state)); got != want {
			t.Errorf("count of %s = %q, want %q", state, got, want)
		}
	}
	for id, want := range map[string]string{"job-rate": "2.50", "job-eta": "1m 15s", "job-tokens": "1200 / 340", "job-cost": "0.012300",
		"job-source": job.Source, "job-state": "运行中"} {
		if got := text(d.byID(id)); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if href := attr(d.byID("review-listings"), "href"); href != "/?job=job-1" {
		t.Errorf("review link %q", href)
	}
	for _, f := range []string{"jsonl", "csv", "xlsx"} {
		if href := attr(d.byID("download-"+f), "href"); href != "/v1/jobs/job-1/results?format="+f {
			t.Errorf("download %s: %q", f, href)
		}
	}
	// The errors: the hostile title and message are text, nothing else.
	titles, ids, messages := d.byClass("product-title"), d.byClass("product-id"), d.byClass("error")
	if len(titles) != 2 || text(titles[0]) != hostileTitle || text(ids[0]) != "p-<3>" ||
		text(messages[0]) != "EINVALID: processing the item failed (panic: <b>poison</b>)" || text(messages[1]) != "title: is required" {
		t.Fatalf("errors list: titles %d %q, ids %q, messages %q", len(titles), text(titles[0]), text(ids[0]), text(messages[0]))
	}
	if n := d.all(func(n *html.Node) bool { return n.Data == "img" || n.Data == "b" || n.Data == "i" }); len(n) != 0 {
		t.Errorf("product, shop or message text made %d elements", len(n))
	}
	if scripts := d.all(func(n *html.Node) bool {
		return n.Data == "script" && attr(n, "src") == "" && attr(n, "type") != "application/json"
	}); len(scripts) != 0 {
		t.Errorf("%d inline scripts", len(scripts))
	}
	rows := d.all(func(n *html.Node) bool { return n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" })
	if len(rows) != 2 || !strings.Contains(text(rows[0]), `<i>抖店</i>`) || !strings.Contains(text(rows[0]), "失败") || !strings.Contains(text(rows[1]), "无效行") {
		t.Errorf("error rows %d: %q", len(rows), text(rows[0]))
	}
	if href := attr(d.byID("errors-next"), "href"); href != "/ui/jobs/job-1?errors=next-errors" {
		t.Errorf("next page of errors %q", href)
	}
	// The page data the script reads is JSON that closes no script tag.
	if data := text(d.byID("page-data")); !strings.Contains(data, `"id":"job-1"`) || strings.Contains(body, `<i>抖店</i>`) || strings.Contains(data, "</script") {
		t.Errorf("page data %.200s", data)
	}

	// A later page of errors, asked for by its cursor.
	if status, _, _ := get(t, srv.URL+"/ui/jobs/job-1?errors=c2"); status != 200 || gotFilter.Cursor != "c2" {
		t.Errorf("errors page 2: %d, cursor %q", status, gotFilter.Cursor)
	}
	if status, _, _ := get(t, srv.URL+"/ui/jobs/other"); status != 404 {
		t.Errorf("unknown job: %d", status)
	}
	// In English on request.
	req, _ := http.NewRequest("GET", srv.URL+"/ui/jobs/job-1", nil)
	req.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if d := parseDoc(t, string(b)); text(d.byID("review-listings")) != "Review this job's listings" || text(d.byID("job-state")) != "Running" {
		t.Errorf("English job page: %q", text(d.byID("review-listings")))
	}
}

// The jobs list links every job with its progress, pages with the cursor,
// and the queue filters by job, naming it; without batch jobs the pages
// say so and the queue has no job filter.
func TestJobsListAndQueueJobFilter(t *testing.T) {
	t.Parallel()
	mk := func(id, source string, done, items int) *listinggen.Job {
		return &listinggen.Job{ID: id, State: listinggen.JobCompleted, Source: source, Items: items, CreatedAt: time.Now(),
			Counts: map[listinggen.ItemState]int{listinggen.ItemDone: done}}
	}
	recent := []*listinggen.Job{mk("j2", "b.xlsx", 4, 4), mk("j1", `<b>a</b>.csv`, 0, 0)}
	old := mk("j0", "old.jsonl", 1, 1)
	var listed []listinggen.JobFilter
	jobs := &fakeJobs{
		ListFn: func(_ context.Context, _ string, f listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error) {
			listed = append(listed, f)
			if f.Cursor == "" {
				return listinggen.Page[*listinggen.Job]{Items: recent, NextCursor: "more"}, nil
			}
			return listinggen.Page[*listinggen.Job]{Items: []*listinggen.Job{old}}, nil
		},
		GetFn: func(_ context.Context, _, id string) (*listinggen.Job, error) {
			if id == old.ID {
				return old, nil
			}
			return nil, listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
		},
	}
	srv, _ := uiServer(t, jobs)
	status, body, _ := get(t, srv.URL+"/ui/jobs")
	d := parseDoc(t, body)
	links := d.all(func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/ui/jobs/") })
	if status != 200 || len(links) != 2 || attr(links[0], "href") != "/ui/jobs/j2" || attr(links[1], "href") != "/ui/jobs/j1" {
		t.Fatalf("jobs list: %d, %d links", status, len(links))
	}
	bars := d.all(func(n *html.Node) bool { return n.Data == "progress" })
	// A job with nothing to run shows a full bar.
	if len(bars) != 2 || attr(bars[0], "value") != "4" || attr(bars[0], "max") != "4" || attr(bars[1], "value") != "1" || attr(bars[1], "max") != "1" {
		t.Errorf("progress bars %v", bars)
	}
	if !strings.Contains(text(d.byID("jobs")), "<b>a</b>.csv") || len(d.all(func(n *html.Node) bool { return n.Data == "b" })) != 0 {
		t.Error("a job's file name is not shown as text")
	}
	if href := attr(d.byID("next-page"), "href"); href != "/ui/jobs?cursor=more" || listed[0].Limit != jobsPageSize {
		t.Errorf("next page %q, limit %d", href, listed[0].Limit)
	}
	if nav := d.byID("nav-jobs"); attr(nav, "aria-current") != "page" {
		t.Error("the nav does not mark the jobs page")
	}
	if status, _, _ := get(t, srv.URL+"/ui/jobs?cursor=more"); status != 200 || listed[len(listed)-1].Cursor != "more" {
		t.Errorf("jobs page 2: %d", status)
	}

	// The queue: every recent job is a choice (uncounted: a choice needs
	// no progress), the chosen one is named.
	_, body, _ = get(t, srv.URL+"/?job=j2&status=draft")
	if f := listed[len(listed)-1]; !f.WithoutCounts || f.Cursor != "" {
		t.Errorf("the queue lists jobs with %+v", f)
	}
	d = parseDoc(t, body)
	opts := d.all(func(n *html.Node) bool {
		return n.Data == "option" && n.Parent != nil && attr(n.Parent, "id") == "filter-job"
	})
	if len(opts) != 3 || attr(opts[1], "value") != "j2" || !hasAttr(opts[1], "selected") {
		t.Fatalf("job filter options: %d", len(opts))
	}
	banner := d.byID("job-filter")
	links = d.all(func(n *html.Node) bool { return n.Data == "a" && isWithin(n, banner) })
	if banner == nil || len(links) != 2 || attr(links[0], "href") != "/ui/jobs/j2" || attr(links[1], "href") != "/?status=draft" {
		t.Errorf("job banner %q", text(banner))
	}
	// An older job is added to the choices; an unknown id is only named.
	_, body, _ = get(t, srv.URL+"/?job=j0")
	d = parseDoc(t, body)
	opts = d.all(func(n *html.Node) bool {
		return n.Data == "option" && hasAttr(n, "selected") && attr(n, "value") == "j0"
	})
	if len(opts) != 1 || !strings.Contains(text(d.byID("job-filter")), "old.jsonl") {
		t.Errorf("older job: %d selected, banner %q", len(opts), text(d.byID("job-filter")))
	}
	status, body, _ = get(t, srv.URL+"/?job=nope")
	if d = parseDoc(t, body); status != 200 || !strings.Contains(text(d.byID("job-filter")), "nope") || text(d.byID("queue")) != "" {
		t.Errorf("unknown job: %d %q", status, text(d.byID("job-filter")))
	}

	// Without batch jobs: the pages answer 503, the queue has no choice.
	off, _ := uiServer(t, nil)
	for _, path := range []string{"/ui/jobs", "/ui/jobs/j1"} {
		if status, _, _ := get(t, off.URL+path); status != 503 {
			t.Errorf("%s without batch jobs: %d", path, status)
		}
	}
	if _, body, _ := get(t, off.URL+"/"); strings.Contains(body, `id="filter-job"`) {
		t.Error("the queue offers a job filter without batch jobs")
	}
}

func hasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

func isWithin(n, ancestor *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p == ancestor {
			return true
		}
	}
	return false
}

func TestProgressAndETA(t *testing.T) {
	t.Parallel()
	j := &listinggen.Job{Items: 5, Counts: map[listinggen.ItemState]int{listinggen.ItemInvalid: 3, listinggen.ItemSkipped: 2}}
	if p := progressOf(j); p.Total != 0 || p.Fraction() != 1 || p.BarValue() != 1 || p.BarMax() != 1 {
		t.Errorf("a job of invalid and skipped rows: %+v", p)
	}
	j = &listinggen.Job{Items: 4, Counts: map[listinggen.ItemState]int{listinggen.ItemDone: 1, listinggen.ItemFailed: 1, listinggen.ItemCancelled: 2}}
	if p := progressOf(j); p.Finished != 2 || p.Total != 4 || p.Fraction() != 0.5 {
		t.Errorf("a cancelled job: %+v", p)
	}
	for secs, want := range map[float64]string{0: "0s", 59.4: "59s", 59.6: "1m 00s", 3599: "59m 59s", 3600: "1h 00m", 7384: "2h 03m"} {
		if got := eta(&secs); got != want {
			t.Errorf("eta(%v) = %q, want %q", secs, got, want)
		}
	}
	if eta(nil) != "—" {
		t.Error("no ETA")
	}
}
