package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/sqlite"
)

// buildBinary builds listinggen once per test binary, for the tests that
// kill a real process.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "listinggen-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "listinggen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a listinggen child process whose stderr the test reads.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	// done is closed when the process has exited, with err its outcome.
	done chan struct{}
	err  error
}

func startProcess(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	return p
}

var progressFinished = regexp.MustCompile(`\] (\d+)/(\d+) items`)

// finished is the last progress count the batch printed.
func (p *process) finished() int {
	m := progressFinished.FindAllStringSubmatch(p.stderr.String(), -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func writeCSV(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("商品ID,标题,类目,价格,属性\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "1688-%d,法式复古碎花连衣裙 款%d 收腰显瘦,女装/连衣裙,59.00,材质:聚酯纤维\n", i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBatchKilledMidJobResumesExactlyOnce runs `listinggen batch` over 150
// products × 2 shops with the fake LLM answering in 20–40 ms, kills the
// process with SIGKILL once a third of the items are done, and runs the
// same command again: every item is in the results exactly once, each
// with its own listing, and the store holds no second listing for any.
func TestBatchKilledMidJobResumesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a process")
	}
	// Not parallel: it runs before the package's parallel tests, so that
	// its build and child processes do not starve their servers' start.
	fake := openaitest.New(openaitest.Config{LatencyMin: 20 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
	defer fake.Close()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "catalogue.csv"), filepath.Join(dir, "results.jsonl")
	const rows, shops = 150, 2
	writeCSV(t, in, rows)
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "IMAGES": "off", "WORKERS": "4", "JOB_POLL": "50ms",
		"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_API_KEY": "k", "LLM_MODEL": "fake", "LLM_CACHE_SIZE": "0"}
	args := []string{"batch", "-i", in, "-o", out, "--shops", "抖店一号,抖店二号", "--platform", "douyin"}

	first := startProcess(t, env, args...)
	deadline := time.Now().Add(5 * time.Minute)
	for first.finished() < rows*shops/3 {
		select {
		case <-first.done:
			t.Fatalf("batch ended before the kill: %v\n%s", first.err, first.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress:\n%s", first.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	killedAt := first.finished()
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a results file exists after the kill")
	}

	second := startProcess(t, env, args...)
	select {
	case <-second.done:
		if second.err != nil {
			t.Fatalf("second run: %v\n%s", second.err, second.stderr.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("second run did not finish:\n%s", second.stderr.String())
	}
	if !strings.Contains(second.stderr.String(), "resuming job") {
		t.Errorf("second run did not resume:\n%s", second.stderr.String())
	}
	t.Logf("killed at %d/%d items; LLM calls %d", killedAt, rows*shops, fake.Stats().Requests)

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]int{}
	listings := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var it listinggen.JobItem
		if err := dec.Decode(&it); err != nil {
			t.Fatal(err)
		}
		items[fmt.Sprintf("%d/%s", it.Row, it.ShopID)]++
		if it.State != listinggen.ItemDone || it.Listing == nil || it.Listing.Provenance.Rewriter != "openai" || listings[it.ListingID] {
			t.Errorf("item %d/%s: %s %q listing %s", it.Row, it.ShopID, it.State, it.Error, it.ListingID)
		}
		listings[it.ListingID] = true
	}
	if len(items) != rows*shops {
		t.Errorf("%d items in the results, want %d", len(items), rows*shops)
	}
	for k, n := range items {
		if n != 1 {
			t.Errorf("item %s appears %d times", k, n)
		}
	}
	// The store: one listing per item, none left over from the killed run.
	store, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "data", "listinggen.db"), MaxReaders: 1, BusyTimeout: time.Second}, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	total := 0
	for cursor := ""; ; {
		page, err := store.FindListings(context.Background(), listinggen.DefaultTenant, listinggen.ListingFilter{Cursor: cursor, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		total += len(page.Items)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if total != rows*shops {
		t.Errorf("%d listings stored, want %d", total, rows*shops)
	}
}

// waitExactlyOnce waits (up to 5 minutes) for the job to complete and
// checks the promise a crash or an outage must not break: every (row,
// shop) item is in the results once, done, with its own listing, and each
// shop holds exactly one listing per row.
func waitExactlyOnce(t *testing.T, s *server, job jobReply, rows int, shops ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for job.State != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("job not completed: %+v", job)
		}
		time.Sleep(200 * time.Millisecond)
		s.do("GET", "/v1/jobs/"+job.ID, nil, &job)
	}
	resp, err := http.Get(s.url + "/v1/jobs/" + job.ID + "/results")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	seen, listings := map[string]int{}, map[string]bool{}
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var it listinggen.JobItem
		if err := dec.Decode(&it); err != nil {
			t.Fatal(err)
		}
		seen[fmt.Sprintf("%d/%s", it.Row, it.ShopID)]++
		if it.State != listinggen.ItemDone || listings[it.ListingID] {
			t.Errorf("item %d/%s: %s %q %s", it.Row, it.ShopID, it.State, it.Error, it.ListingID)
		}
		listings[it.ListingID] = true
	}
	if len(seen) != rows*len(shops) || job.Counts["done"] != rows*len(shops) {
		t.Errorf("%d items in the results, counts %+v", len(seen), job.Counts)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("item %s %d times", k, n)
		}
	}
	for _, shop := range shops {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		s.do("GET", "/v1/listings?limit=200&shop_id="+shop, nil, &page)
		if len(page.Items) != rows || page.NextCursor != "" {
			t.Errorf("shop %s has %d listings (more: %v), want %d", shop, len(page.Items), page.NextCursor != "", rows)
		}
	}
}

// TestPostgresRestartMidJob restarts the PostgreSQL cluster while a job's
// items run in the server's workers: the pool and River reconnect, the
// items caught by the outage are retried, and every item ends in the
// results exactly once. It needs the command that restarts the cluster
// (LG_PG_RESTART_CMD), so scripts/test.sh runs it alone after the other
// tests, which share that cluster.
func TestPostgresRestartMidJob(t *testing.T) {
	restart := os.Getenv("LG_PG_RESTART_CMD")
	if restart == "" {
		t.Skip("set LG_PG_RESTART_CMD (scripts/test.sh does) to restart the PostgreSQL cluster mid-job")
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Fatal("LG_PG_RESTART_CMD is set but TEST_DATABASE_URL is not: nothing to restart under")
	}
	dbURL := pgtest.FreshDatabase(t)
	fake := openaitest.New(openaitest.Config{LatencyMin: 20 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
	defer fake.Close()
	s := startServer(t, t.TempDir(), map[string]string{"DATABASE_URL": dbURL, "WORKERS": "4", "JOB_POLL": "100ms",
		"JOB_TIMEOUT": "5s", "JOB_RESCUE_AFTER": "10s", "JOB_LEASE": "4s", "JOB_HEARTBEAT": "1s",
		"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_API_KEY": "k", "LLM_MODEL": "fake", "LLM_CACHE_SIZE": "0"})
	shopA, shopB := createShop(t, s, "抖店一号", "douyin"), createShop(t, s, "抖店二号", "douyin")
	const rows = 100
	items := make([]map[string]any, rows)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprint(i), "title": fmt.Sprintf("纯棉宽松T恤 款%d 男女同款", i), "category": "男装/T恤"}
	}
	var job jobReply
	if r := s.do("POST", "/v1/jobs", map[string]any{"shop_ids": []string{shopA.ID, shopB.ID}, "items": items}, &job); r.StatusCode != 202 {
		t.Fatalf("submit: %d", r.StatusCode)
	}
	for deadline := time.Now().Add(2 * time.Minute); job.Counts["done"] < rows/2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress before the restart: %+v", job)
		}
		s.do("GET", "/v1/jobs/"+job.ID, nil, &job)
	}
	if out, err := exec.Command("sh", "-c", restart).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", restart, err, out)
	}
	t.Logf("cluster restarted with %d of %d items done", job.Counts["done"], rows*2)
	// The server answers 503 while its connections come back, never 500.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		resp := s.do("GET", "/readyz", nil, nil)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("readyz after the restart: %d", resp.StatusCode)
		}
	}
	waitExactlyOnce(t, s, job, rows, shopA.ID, shopB.ID)
	if logs := s.logs.String(); strings.Contains(logs, "status=500") {
		t.Errorf("a request answered 500 around the restart:\n%s", logs)
	}
}
