package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/catalog"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/jobs"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/postgres"
	"github.com/listinggen/listinggen/rules"
	"github.com/listinggen/listinggen/sqlite"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/xuri/excelize/v2"
)

// poisonRewriter is the rules rewriter, except that a title containing
// POISON panics, one containing FLAKY fails its first attempts with a
// provider outage, and one containing SLOW takes 1.5 s (a long model call).
type poisonRewriter struct {
	listinggen.Rewriter
	flaky atomic.Int64
	slow  atomic.Int64 // SLOW calls made
}

func (p *poisonRewriter) Rewrite(ctx context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
	switch {
	case strings.Contains(req.Product.Title, "SLOW"):
		p.slow.Add(1)
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case strings.Contains(req.Product.Title, "POISON"):
		panic("poison row")
	case strings.Contains(req.Product.Title, "FLAKY") && p.flaky.Add(1) <= 2:
		return nil, listinggen.Errorf(listinggen.EUNAVAILABLE, "model unavailable")
	}
	return p.Rewriter.Rewrite(ctx, req)
}

// testStore is either store: both keep jobs.
type testStore interface {
	listinggen.Store
	listinggen.JobStore
}

type env struct {
	store testStore
	svc   *jobs.Service
	queue *jobs.Queue
	w     *jobs.Worker
	shops []*listinggen.Shop
	// p and qc make more queues on the store: other worker processes.
	backend string
	p       *pipeline.Pipeline
	qc      jobs.Config
	rw      *poisonRewriter
}

// backends are the stores every job test runs on; PostgreSQL only with
// TEST_DATABASE_URL.
func backends(t *testing.T) []string {
	if pgtest.Available(t) {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range backends(t) {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// openBackend opens a migrated store (River's tables included) and a queue
// on it.
func openBackend(t *testing.T, backend string, qc jobs.Config, w *jobs.Worker, store testStore) (*jobs.Queue, error) {
	switch s := store.(type) {
	case *sqlite.Store:
		if err := jobs.MigrateSQLite(context.Background(), s.WriterDB()); err != nil {
			t.Fatal(err)
		}
		return jobs.NewSQLite(s.WriterDB(), s, qc, w)
	case *postgres.Store:
		if err := jobs.MigratePostgres(context.Background(), s.Pool()); err != nil {
			t.Fatal(err)
		}
		return jobs.NewPostgres(s.Pool(), s, qc, w)
	}
	t.Fatalf("backend %s", backend)
	return nil, nil
}

func openStore(t *testing.T, backend string) testStore {
	t.Helper()
	ctx := context.Background()
	var store testStore
	var err error
	if backend == "postgres" {
		cfg := postgres.DefaultConfig()
		cfg.URL = pgtest.FreshDatabase(t)
		store, err = postgres.Open(ctx, cfg, time.Now, newID)
	} else {
		cfg := sqlite.DefaultConfig()
		cfg.Path = filepath.Join(t.TempDir(), "db.sqlite")
		store, err = sqlite.Open(ctx, cfg, time.Now, newID)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func newEnv(t *testing.T, backend string, workers int) *env {
	t.Helper()
	ctx := context.Background()
	store := openStore(t, backend)
	checker, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	rw, err := rules.New(checker)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := hashembed.New(hashembed.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	prw := &poisonRewriter{Rewriter: rw}
	p, err := pipeline.New(pipeline.Config{Store: store, Rewriter: prw, Embedder: emb, Checker: checker,
		Dedup: dedup.DefaultConfig(), Logger: logger, Now: time.Now, TenantWords: store.TenantWords})
	if err != nil {
		t.Fatal(err)
	}
	qc := jobs.DefaultConfig()
	qc.Workers, qc.Logger = workers, logger
	qc.RetryBase, qc.RetryMax, qc.PollInterval, qc.MaxAttempts = 10*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond, 3
	qc.Lease, qc.Heartbeat = time.Second, 100*time.Millisecond
	w := jobs.NewWorker(store, p, logger)
	q, err := openBackend(t, backend, qc, w, store)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, queue: q, w: w, svc: jobs.NewService(store, q, nil, time.Now), backend: backend, p: p, qc: qc, rw: prw}
	for i, plat := range []listinggen.Platform{listinggen.PlatformDouyin, listinggen.PlatformTaobao} {
		sh := &listinggen.Shop{TenantID: listinggen.DefaultTenant, Name: fmt.Sprintf("shop %d", i), Platform: plat, Group: "g"}
		if err := store.CreateShop(ctx, sh); err != nil {
			t.Fatal(err)
		}
		e.shops = append(e.shops, sh)
	}
	return e
}

func (e *env) start(t *testing.T) {
	t.Helper()
	if err := e.queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.queue.Stop(ctx)
	})
}

func (e *env) wait(t *testing.T, id string, done func(*listinggen.Job) bool) *listinggen.Job {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute) // returns when done; generous for -race on shared cores
	for {
		j, err := e.svc.Get(context.Background(), listinggen.DefaultTenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if done(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job did not get there: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func completed(j *listinggen.Job) bool { return j.State == listinggen.JobCompleted }

func catalogue(n int, special map[int]string) string {
	var b strings.Builder
	b.WriteString("商品ID,标题,类目,价格,属性\n")
	for i := 1; i <= n; i++ {
		// Each style has its own price; offers of one item (the
		// special rows) share theirs.
		title, price := fmt.Sprintf("法式碎花连衣裙 款%d 收腰显瘦", i), 59+40*i
		if s, ok := special[i]; ok {
			title, price = s, 59
		}
		fmt.Fprintf(&b, "p%d,%s,女装/连衣裙,%d.00,材质:聚酯纤维\n", i, title, price)
	}
	return b.String()
}

func submitCSV(t *testing.T, e *env, opts listinggen.JobOptions, data string) *listinggen.Job {
	t.Helper()
	r, err := catalog.Open(strings.NewReader(data), catalog.CSV, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.svc.Submit(context.Background(), listinggen.DefaultTenant, opts, "c.csv", "", r)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJobRunsEveryItemOnceWithBadAndPoisonRows(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, 4)
		// Row 4 (line 5) has no title, row 7 panics the rewriter, row 9 fails twice then works.
		data := catalogue(30, map[int]string{4: "", 7: "POISON 连衣裙", 9: "FLAKY 连衣裙"})
		j := submitCSV(t, e, listinggen.JobOptions{ShopGroup: "g"}, data)
		if j.Rows != 30 || j.Items != 59 || j.Counts[listinggen.ItemQueued] != 58 || j.Counts[listinggen.ItemInvalid] != 1 {
			t.Fatalf("submitted: %+v", j)
		}
		e.start(t)
		j = e.wait(t, j.ID, completed)
		if j.Counts[listinggen.ItemDone] != 56 || j.Counts[listinggen.ItemFailed] != 2 || j.FinishedAt == nil || j.ItemsPerSecond <= 0 {
			t.Fatalf("finished: %+v", j)
		}

		var buf bytes.Buffer
		if err := e.svc.Results(context.Background(), listinggen.DefaultTenant, j.ID, catalog.JSONL, &buf); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		listings := map[string]bool{}
		dec := json.NewDecoder(&buf)
		for dec.More() {
			var it listinggen.JobItem
			if err := dec.Decode(&it); err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("%d/%s", it.Row, it.ShopID)
			if seen[key] {
				t.Errorf("item %s twice", key)
			}
			seen[key] = true
			switch {
			case it.Row == 5:
				if it.State != listinggen.ItemInvalid || !strings.Contains(it.Error, "标题") {
					t.Errorf("row 5: %+v", it)
				}
			case it.Row == 8:
				if it.State != listinggen.ItemFailed || !strings.Contains(it.Error, "poison row") {
					t.Errorf("poison row: %+v", it)
				}
			default:
				if it.State != listinggen.ItemDone || it.Listing == nil || it.Listing.Copy.Title == "" || listings[it.ListingID] {
					t.Errorf("row %d: %+v", it.Row, it)
				}
				listings[it.ListingID] = true
			}
		}
		if len(seen) != 59 {
			t.Errorf("%d items in results, want 59", len(seen))
		}

		// Retry re-runs only the failed items; the poison row fails again.
		j, n, err := e.svc.Retry(context.Background(), listinggen.DefaultTenant, j.ID)
		if err != nil || n != 2 {
			t.Fatalf("retry: %d %v", n, err)
		}
		j = e.wait(t, j.ID, completed)
		if j.Counts[listinggen.ItemFailed] != 2 || j.Counts[listinggen.ItemDone] != 56 {
			t.Errorf("after retry: %+v", j.Counts)
		}

		// Another tenant does not see the job.
		if _, err := e.svc.Get(context.Background(), "other", j.ID); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
			t.Errorf("other tenant: %v", err)
		}
		if err := e.svc.Results(context.Background(), "other", j.ID, catalog.CSV, io.Discard); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
			t.Errorf("other tenant results: %v", err)
		}
	})
}

func TestDuplicateDeliveryWritesOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, 0)
		j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(1, nil))
		var itemID int64
		e.store.JobItems(context.Background(), listinggen.DefaultTenant, j.ID, func(it *listinggen.JobItem) error { itemID = it.ID; return nil })
		for range 3 {
			job := &river.Job[jobs.ItemArgs]{JobRow: &rivertype.JobRow{Attempt: 1}, Args: jobs.ItemArgs{ItemID: itemID}}
			if err := e.w.Work(context.Background(), job); err != nil {
				t.Fatal(err)
			}
		}
		j, _ = e.svc.Get(context.Background(), listinggen.DefaultTenant, j.ID)
		var it *listinggen.JobItem
		e.store.JobItems(context.Background(), listinggen.DefaultTenant, j.ID, func(x *listinggen.JobItem) error { it = x; return nil })
		if j.State != listinggen.JobCompleted || j.Counts[listinggen.ItemDone] != 1 || it.Attempts != 1 {
			t.Errorf("job %+v item %+v", j, it)
		}
	})
}

// A rescue after the last attempt died reaches the worker as one attempt
// more than it makes: the item fails with the reason instead of staying
// running.
func TestRescueAfterLastAttemptFailsTheItem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", 0)
	j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(1, nil))
	var itemID int64
	e.store.JobItems(context.Background(), listinggen.DefaultTenant, j.ID, func(it *listinggen.JobItem) error { itemID = it.ID; return nil })
	job := &river.Job[jobs.ItemArgs]{JobRow: &rivertype.JobRow{Attempt: 4}, Args: jobs.ItemArgs{ItemID: itemID}}
	if err := e.w.Work(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	j, _ = e.svc.Get(context.Background(), listinggen.DefaultTenant, j.ID)
	var it *listinggen.JobItem
	e.store.JobItems(context.Background(), listinggen.DefaultTenant, j.ID, func(x *listinggen.JobItem) error { it = x; return nil })
	if j.State != listinggen.JobCompleted || it.State != listinggen.ItemFailed || !strings.Contains(it.Error, "stopped on its last attempt") {
		t.Errorf("job %s, item %+v", j.State, it)
	}
}

func TestDryRunClustersAndCancel(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, 0)
		// Rows 2 and 3 are the same product with different spacing.
		data := catalogue(3, map[int]string{2: "纯棉T恤 男", 3: "纯棉 T恤男"})
		j := submitCSV(t, e, listinggen.JobOptions{ShopGroup: "g", Platform: listinggen.PlatformDouyin, DryRun: true, OnePerCluster: true}, data)
		if j.State != listinggen.JobEstimated || j.Items != 3 || j.Counts[listinggen.ItemSkipped] != 3 {
			t.Fatalf("dry run: %+v", j)
		}
		var errs []string
		e.store.JobItems(context.Background(), listinggen.DefaultTenant, j.ID, func(it *listinggen.JobItem) error { errs = append(errs, it.Error); return nil })
		if !strings.Contains(errs[2], "same item as row 3") || j.Options.ClusterMethod != jobs.ClusterByEvidence {
			t.Errorf("cluster (%s): %q", j.Options.ClusterMethod, errs)
		}
		if _, _, err := e.svc.Retry(context.Background(), listinggen.DefaultTenant, j.ID); listinggen.ErrorCode(err) != listinggen.ECONFLICT {
			t.Errorf("retry of a dry run: %v", err)
		}

		j = submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID, e.shops[1].ID}}, catalogue(5, nil))
		// No workers: the ten items wait, and the queue metrics say so.
		if depth, oldest, err := e.store.QueueStats(context.Background()); err != nil || depth != 10 || oldest.IsZero() || time.Since(oldest) > time.Minute {
			t.Fatalf("queue stats with 10 items waiting: %d since %v, %v", depth, oldest, err)
		}
		j, err := e.svc.Cancel(context.Background(), listinggen.DefaultTenant, j.ID)
		if err != nil || j.State != listinggen.JobCancelled || j.Counts[listinggen.ItemCancelled] != 10 {
			t.Fatalf("cancel: %+v %v", j, err)
		}
		if depth, oldest, err := e.store.QueueStats(context.Background()); err != nil || depth != 0 || !oldest.IsZero() {
			t.Errorf("queue stats after cancel: %d since %v, %v", depth, oldest, err)
		}
		if _, err := e.svc.Cancel(context.Background(), listinggen.DefaultTenant, j.ID); listinggen.ErrorCode(err) != listinggen.ECONFLICT {
			t.Errorf("second cancel: %v", err)
		}
		_, err = e.svc.Submit(context.Background(), listinggen.DefaultTenant, listinggen.JobOptions{ShopIDs: []string{"nope"}}, "x", "", catalog.Products(nil))
		if f := listinggen.ErrorFields(err); len(f) != 1 || f[0].Field != "shop_ids[0]" {
			t.Errorf("unknown shop: %v", err)
		}
	})
}

func TestBudgetPausesAndResume(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, 1)
		j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(5, nil))
		// The rules rewriter spends nothing; a spent job is simulated by a
		// budget of one token already reached.
		if err := e.store.SetJobOptions(context.Background(), listinggen.DefaultTenant, j.ID, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}, MaxCostUSD: 1e-9}); err != nil {
			t.Fatal(err)
		}
		forceSpend(t, e, j.ID)
		e.start(t)
		j = e.wait(t, j.ID, func(j *listinggen.Job) bool {
			return j.State == listinggen.JobPaused && j.Counts[listinggen.ItemQueued]+j.Counts[listinggen.ItemRunning] == 0
		})
		if j.Counts[listinggen.ItemPaused] != 4 {
			t.Fatalf("paused: %+v", j.Counts)
		}
		zero := 0.0
		j, n, err := e.svc.Resume(context.Background(), listinggen.DefaultTenant, j.ID, nil, &zero)
		if err != nil || n != 4 {
			t.Fatalf("resume: %d %v", n, err)
		}
		j = e.wait(t, j.ID, completed)
		if j.Counts[listinggen.ItemDone] != 5 {
			t.Errorf("resumed: %+v", j.Counts)
		}
	})
}

// forceSpend finishes the job's first item by hand with a cost, as a model
// call would have.
func forceSpend(t *testing.T, e *env, jobID string) {
	t.Helper()
	var first int64
	e.store.JobItems(context.Background(), listinggen.DefaultTenant, jobID, func(it *listinggen.JobItem) error {
		if first == 0 {
			first = it.ID
		}
		return nil
	})
	it, _, ok, err := e.store.ClaimItem(context.Background(), first, "test")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	it.State, it.CostUSD, it.PromptTokens = listinggen.ItemDone, 0.01, 100
	if err := e.store.FinishItem(context.Background(), it); err != nil {
		t.Fatal(err)
	}
}

func TestResultsXLSX(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, 2)
		j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(12, map[int]string{3: ""}))
		e.start(t)
		j = e.wait(t, j.ID, completed)
		var buf bytes.Buffer
		if err := e.svc.Results(context.Background(), listinggen.DefaultTenant, j.ID, catalog.XLSX, &buf); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows("Sheet1")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 13 || rows[0][0] != "行号 row" || rows[1][3] != "done" || rows[1][5] == "" || rows[3][3] != "invalid" {
			t.Errorf("xlsx rows: %q", rows[:4])
		}
	})
}
