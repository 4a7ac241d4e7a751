package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/xuri/excelize/v2"
)

// writeCatalogueXLSX writes a seller's sheet with the Chinese template:
// n products, and row 4 without a title.
func writeCatalogueXLSX(t testing.TB, path string, n int) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	sw.SetRow("A1", []any{"商品ID", "标题", "类目", "价格", "属性", "图片"})
	for i := 1; i <= n; i++ {
		title := fmt.Sprintf("法式复古碎花连衣裙 款%d 收腰显瘦 一件代发", i)
		if i == 3 {
			title = ""
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		sw.SetRow(cell, []any{fmt.Sprintf("1688-%d", i), title, "女装/连衣裙", 59.9, "材质:聚酯纤维;颜色:白色,黑色", ""})
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func readXLSXRows(t testing.TB, r io.Reader) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(r)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

type jobReply struct {
	ID        string                  `json:"id"`
	State     string                  `json:"state"`
	Rows      int                     `json:"rows"`
	Items     int                     `json:"items"`
	Counts    map[string]int          `json:"counts"`
	Recovered *listinggen.JobRecovery `json:"recovered"`
}

func TestJobsAPIFromXLSXToXLSX(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir, map[string]string{"WORKERS": "2", "JOB_POLL": "50ms"})
	var shop struct{ ID string }
	s.do("POST", "/v1/shops", map[string]any{"name": "抖店一号", "platform": "douyin", "group": "女装"}, &shop)

	path := filepath.Join(dir, "catalogue.xlsx")
	writeCatalogueXLSX(t, path, 20)
	data, _ := readFile(path)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("shop_ids", shop.ID)
	fw, _ := mw.CreateFormFile("file", "catalogue.xlsx")
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(s.url+"/v1/jobs", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var job jobReply
	decodeBody(t, resp, &job)
	if resp.StatusCode != http.StatusAccepted || job.Rows != 20 || job.Counts["invalid"] != 1 || resp.Header.Get("Location") != "/v1/jobs/"+job.ID {
		t.Fatalf("POST /v1/jobs: %d %+v", resp.StatusCode, job)
	}
	deadline := time.Now().Add(5 * time.Minute) // returns when done; generous for -race on shared cores
	for job.State != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("job not completed: %+v", job)
		}
		time.Sleep(100 * time.Millisecond)
		s.do("GET", "/v1/jobs/"+job.ID, nil, &job)
	}
	if job.Counts["done"] != 19 {
		t.Fatalf("counts %+v", job.Counts)
	}
	resp, err = http.Get(s.url + "/v1/jobs/" + job.ID + "/results?format=xlsx")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows := readXLSXRows(t, resp.Body)
	if len(rows) != 21 || rows[1][3] != "done" || strings.Contains(rows[1][5], "一件代发") || rows[1][5] == "" || rows[3][3] != "invalid" || !strings.Contains(rows[3][4], "标题") {
		t.Errorf("results: %q", rows[:4])
	}

	// JSON items, a dry run, and the problems a client can make.
	var dry jobReply
	r := s.do("POST", "/v1/jobs", map[string]any{"shop_ids": []string{shop.ID}, "dry_run": true,
		"items": []map[string]any{{"id": "a", "title": "保温杯"}, {"id": "b"}}}, &dry)
	if r.StatusCode != http.StatusAccepted || dry.State != "estimated" || dry.Counts["invalid"] != 1 || dry.Counts["skipped"] != 1 {
		t.Errorf("dry run: %d %+v", r.StatusCode, dry)
	}
	checkJobListingAndItems(t, s, job, dry)
	var p problem
	r = s.do("POST", "/v1/jobs", map[string]any{"shop_ids": []string{"nope"}, "items": []map[string]any{{"title": "x"}}}, &p)
	if r.StatusCode != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "shop_ids[0]" {
		t.Errorf("unknown shop: %d %+v", r.StatusCode, p)
	}
	r = s.do("GET", "/v1/jobs/nope", nil, &p)
	if r.StatusCode != 404 {
		t.Errorf("unknown job: %d", r.StatusCode)
	}
	r = s.do("POST", "/v1/jobs/"+job.ID+"/cancel", nil, &p)
	if r.StatusCode != 409 {
		t.Errorf("cancel a completed job: %d %+v", r.StatusCode, p)
	}
	var rq struct {
		Requeued int `json:"requeued"`
	}
	if r = s.do("POST", "/v1/jobs/"+job.ID+"/retry", nil, &rq); r.StatusCode != 202 || rq.Requeued != 0 {
		t.Errorf("retry: %d %+v", r.StatusCode, rq)
	}
	if r = s.do("POST", "/v1/jobs/"+job.ID+"/resume", nil, &rq); r.StatusCode != 202 || rq.Requeued != 0 {
		t.Errorf("resume without a body: %d %+v", r.StatusCode, rq)
	}
	body.Reset()
	mw = multipart.NewWriter(&body)
	mw.WriteField("shop_ids", shop.ID)
	mw.WriteField("max_tokens", "lots")
	fw, _ = mw.CreateFormFile("file", "catalogue.pdf")
	fw.Write(data)
	mw.Close()
	resp, err = http.Post(s.url+"/v1/jobs", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	decodeBody(t, resp, &p)
	if resp.StatusCode != 422 || strings.Join(p.fields(), ",") != "max_tokens,format" {
		t.Errorf("bad multipart: %d %+v", resp.StatusCode, p)
	}
	resp, err = http.Get(s.url + "/v1/jobs/" + job.ID + "/results?format=pdf")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 && resp.StatusCode != 422 {
		t.Errorf("results?format=pdf: %d", resp.StatusCode)
	}
}

type itemReply struct {
	Row       int    `json:"row"`
	State     string `json:"state"`
	Error     string `json:"error"`
	ListingID string `json:"listing_id"`
	Product   struct {
		ID string `json:"id"`
	} `json:"product"`
}

// checkJobListingAndItems: the jobs list, a job's items paged and by
// state, and the listings of one job (job has 19 done items and one
// invalid row; dry, newer, ran nothing).
func checkJobListingAndItems(t *testing.T, s *server, job, dry jobReply) {
	t.Helper()
	var jobs struct {
		Items      []jobReply `json:"items"`
		NextCursor string     `json:"next_cursor"`
	}
	if r := s.do("GET", "/v1/jobs", nil, &jobs); r.StatusCode != 200 || len(jobs.Items) != 2 || jobs.Items[0].ID != dry.ID ||
		jobs.Items[1].ID != job.ID || jobs.Items[1].Counts["done"] != 19 {
		t.Errorf("GET /v1/jobs: %d %+v", r.StatusCode, jobs)
	}
	type itemPage struct {
		Items      []itemReply `json:"items"`
		NextCursor string      `json:"next_cursor"`
	}
	var errs itemPage
	if r := s.do("GET", "/v1/jobs/"+job.ID+"/items?state=failed,invalid", nil, &errs); r.StatusCode != 200 || len(errs.Items) != 1 ||
		errs.Items[0].State != "invalid" || !strings.Contains(errs.Items[0].Error, "标题") || errs.Items[0].Product.ID != "1688-3" {
		t.Errorf("the job's errors: %d %+v", r.StatusCode, errs)
	}
	listed := map[string]bool{}
	rows, cursor := 0, ""
	for pages := 0; pages < 10; pages++ {
		var page itemPage
		if r := s.do("GET", "/v1/jobs/"+job.ID+"/items?limit=7&cursor="+cursor, nil, &page); r.StatusCode != 200 || len(page.Items) > 7 {
			t.Fatalf("items page %d: %d, %d items", pages, r.StatusCode, len(page.Items))
		}
		for _, it := range page.Items {
			if it.Row <= rows {
				t.Errorf("row %d after row %d", it.Row, rows)
			}
			rows = it.Row
			if it.ListingID != "" {
				listed[it.ListingID] = true
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(listed) != 19 {
		t.Errorf("paging the items found %d listings, want 19", len(listed))
	}
	var p problem
	if r := s.do("GET", "/v1/jobs/"+job.ID+"/items?state=broken", nil, &p); r.StatusCode != 422 && r.StatusCode != 400 {
		t.Errorf("unknown item state: %d %+v", r.StatusCode, p)
	}
	var listings struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	s.do("GET", "/v1/listings?limit=200&job_id="+job.ID, nil, &listings)
	for _, l := range listings.Items {
		if !listed[l.ID] {
			t.Errorf("listing %s is not one of the job's", l.ID)
		}
	}
	if len(listings.Items) != 19 {
		t.Errorf("GET /v1/listings?job_id=: %d listings, want the job's 19", len(listings.Items))
	}
	if s.do("GET", "/v1/listings?job_id="+dry.ID, nil, &listings); len(listings.Items) != 0 {
		t.Errorf("a dry run has %d listings", len(listings.Items))
	}
}

func TestBatchCLIFromXLSXToXLSXResumes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "catalogue.xlsx"), filepath.Join(dir, "results.xlsx")
	writeCatalogueXLSX(t, in, 30)
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "IMAGES": "off", "JOB_POLL": "50ms"}
	args := []string{"batch", "-i", in, "-o", out, "--shops", "抖店一号,抖店二号", "--platform", "douyin"}
	var stderr syncBuffer
	if err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr); err != nil {
		t.Fatalf("batch: %v\n%s", err, stderr.String())
	}
	data, err := readFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows := readXLSXRows(t, bytes.NewReader(data))
	// 29 good rows × 2 shops + 1 invalid row, and the header.
	if len(rows) != 60 || !strings.Contains(stderr.String(), "58 done") || !strings.Contains(stderr.String(), "items/s") {
		t.Fatalf("%d rows\n%s", len(rows), stderr.String())
	}
	// Its last line says how much memory it took and the vector cache's
	// share (the bench reads it).
	if !regexp.MustCompile(`memory: peak RSS [1-9][0-9]* MiB, vector cache [0-9]+ MiB of 512 MiB, its exact vectors' file [0-9]+ MiB\n$`).MatchString(stderr.String()) {
		t.Errorf("no memory line at the end:\n%s", stderr.String())
	}
	// The same command again resumes the finished job: nothing reruns.
	var again syncBuffer
	if err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &again); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again.String(), "resuming job") || !strings.Contains(again.String(), "58 done") {
		t.Errorf("second run:\n%s", again.String())
	}
	err = run(context.Background(), []string{"batch", "-i", in, "-o", filepath.Join(dir, "x.pdf"), "--shops", "x"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-o") {
		t.Errorf("bad -o: %v", err)
	}
	// The flag sets the level as the variable does.
	err = run(context.Background(), append(slices.Clone(args), "--log-level", "loud"), func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loud") {
		t.Errorf("--log-level loud: %v", err)
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func decodeBody(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
}

// TestJobSurvivesLLMOutage: the provider answers 503 to every call for a
// while in the middle of a job. Items in the outage are written by the
// rules rewriter and marked for review (the LLM issue's fallback); none
// fails, and items after it come from the model again.
func TestJobSurvivesLLMOutage(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{})
	defer fake.Close()
	outage := make([]openaitest.Fault, 0, 60)
	for range 10 {
		outage = append(outage, openaitest.OK)
	}
	for range 40 {
		outage = append(outage, openaitest.Status503)
	}
	fake.Script(outage...)
	s := startServer(t, t.TempDir(), map[string]string{"WORKERS": "2", "JOB_POLL": "50ms",
		"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_API_KEY": "k", "LLM_MODEL": "fake", "LLM_CACHE_SIZE": "0", "LLM_MAX_RETRIES": "1"})
	shop := createShop(t, s, "抖店", "douyin")
	items := make([]map[string]any, 60)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprint(i), "title": fmt.Sprintf("纯棉T恤 男款 宽松 款%d", i), "category": "男装/T恤"}
	}
	var job jobReply
	if r := s.do("POST", "/v1/jobs", map[string]any{"shop_ids": []string{shop.ID}, "items": items}, &job); r.StatusCode != 202 {
		t.Fatalf("submit: %d", r.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Minute) // returns when done; generous for -race on shared cores
	for job.State != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("job: %+v", job)
		}
		time.Sleep(100 * time.Millisecond)
		s.do("GET", "/v1/jobs/"+job.ID, nil, &job)
	}
	resp, err := http.Get(s.url + "/v1/jobs/" + job.ID + "/results")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rewriters := map[string]int{}
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var it struct {
			State   string `json:"state"`
			Listing struct {
				Status     string                    `json:"status"`
				Provenance struct{ Rewriter string } `json:"provenance"`
			} `json:"listing"`
		}
		if err := dec.Decode(&it); err != nil {
			t.Fatal(err)
		}
		if it.State != "done" {
			t.Errorf("item %+v", it)
		}
		rewriters[it.Listing.Provenance.Rewriter]++
		if it.Listing.Provenance.Rewriter == "rules" && it.Listing.Status != "needs_review" {
			t.Errorf("fallback copy not marked: %+v", it)
		}
	}
	if job.Counts["done"] != 60 || job.Counts["failed"] != 0 || rewriters["rules"] == 0 || rewriters["openai"] < 10 {
		t.Errorf("counts %+v, rewriters %+v", job.Counts, rewriters)
	}
	// Every call the provider answered is booked to the job (the ledger
	// writes about once a second).
	answered := int64(fake.Stats().Answered)
	var usage struct{ Totals usageTotal }
	for deadline := time.Now().Add(10 * time.Second); usage.Totals.Calls != answered; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("usage of the job: %+v, want %d answered calls", usage.Totals, answered)
		}
		s.do("GET", "/v1/usage?job_id="+job.ID, nil, &usage)
	}
}

// POST /v1/jobs honours Idempotency-Key like generate: the same key and
// body replays the first answer (one job, not two); another body under the
// key is refused.
func TestIdempotencyKeyOnJobs(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), map[string]string{"WORKERS": "0"})
	shop := createShop(t, s, "抖店", "douyin")
	body, _ := json.Marshal(map[string]any{"shop_ids": []string{shop.ID}, "items": []map[string]any{{"title": "纯棉T恤 男款"}}})
	submit := func(b []byte) (int, jobReply, http.Header) {
		t.Helper()
		st, raw, hdr := s.call("", "POST", "/v1/jobs", "application/json", b, "Idempotency-Key", "catalogue-7")
		var j jobReply
		json.Unmarshal(raw, &j)
		return st, j, hdr
	}
	st1, first, _ := submit(body)
	st2, again, hdr := submit(body)
	if st1 != 202 || st2 != 202 || again.ID != first.ID || first.ID == "" || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("same key and body: %d %s, then %d %s (replayed %q)", st1, first.ID, st2, again.ID, hdr.Get("Idempotent-Replayed"))
	}
	other, _ := json.Marshal(map[string]any{"shop_ids": []string{shop.ID}, "items": []map[string]any{{"title": "保温杯"}}})
	if st, _, _ := submit(other); st != http.StatusUnprocessableEntity {
		t.Fatalf("same key, another body: %d, want 422", st)
	}
	var j jobReply
	s.do("GET", "/v1/jobs/"+first.ID, nil, &j)
	if j.Items != 1 {
		t.Fatalf("the job has %d items, want 1", j.Items)
	}
}
