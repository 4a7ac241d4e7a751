package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/jobs"
	"github.com/listinggen/listinggen/postgres"
	"github.com/listinggen/listinggen/sqlite"
)

// itemIDs returns the job's item ids in (row, shop) order.
func itemIDs(t *testing.T, e *env, jobID string) []int64 {
	t.Helper()
	var ids []int64
	if err := e.store.JobItems(context.Background(), listinggen.DefaultTenant, jobID, func(it *listinggen.JobItem) error {
		ids = append(ids, it.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// fetchedBy marks the River jobs of items as running, last attempted by
// worker: what River's table holds for deliveries a process had fetched
// when it stopped.
func fetchedBy(t *testing.T, e *env, worker string, items ...int64) {
	t.Helper()
	ctx := context.Background()
	var n int64
	switch s := e.store.(type) {
	case *sqlite.Store:
		list, _ := json.Marshal(items)
		by, _ := json.Marshal([]string{worker})
		var res sql.Result
		res, err := s.WriterDB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1,
			attempted_at = datetime('now', 'subsec'), attempted_by = jsonb(?)
			WHERE json_extract(args, '$.item_id') IN (SELECT value FROM json_each(?))`, string(by), string(list))
		if err != nil {
			t.Fatal(err)
		}
		n, _ = res.RowsAffected()
	case *postgres.Store:
		tag, err := s.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now(),
			attempted_by = ARRAY[$1::text] WHERE (args->>'item_id')::bigint = ANY($2)`, worker, items)
		if err != nil {
			t.Fatal(err)
		}
		n = tag.RowsAffected()
	}
	if n != int64(len(items)) {
		t.Fatalf("marked %d River jobs running, want %d", n, len(items))
	}
}

// riverStates counts the River jobs of items by state once none is
// running: River records completions asynchronously, after the store.
func riverStates(t *testing.T, e *env, items ...int64) map[string]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := readRiverStates(t, e, items...)
		if st["running"] == 0 || time.Now().After(deadline) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readRiverStates(t *testing.T, e *env, items ...int64) map[string]int {
	t.Helper()
	ctx := context.Background()
	out := map[string]int{}
	var rows interface {
		Next() bool
		Scan(...any) error
		Close()
	}
	switch s := e.store.(type) {
	case *sqlite.Store:
		list, _ := json.Marshal(items)
		r, err := s.WriterDB().QueryContext(ctx, `SELECT state FROM river_job WHERE json_extract(args, '$.item_id') IN (SELECT value FROM json_each(?))`, string(list))
		if err != nil {
			t.Fatal(err)
		}
		rows = sqlRows{r}
	case *postgres.Store:
		r, err := s.Pool().Query(ctx, `SELECT state::text FROM river_job WHERE (args->>'item_id')::bigint = ANY($1)`, items)
		if err != nil {
			t.Fatal(err)
		}
		rows = r
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		out[st]++
	}
	return out
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// TestStoppedWorkersItemsRunAgain: a worker stopped with three items
// claimed and a fourth fetched but not claimed. A worker that starts takes
// them back as soon as the stopped worker's lease has expired (not after
// the rescue delay, ten minutes here), cancels the stopped River jobs and
// runs the items in new ones: each item once, the job saying how many were
// taken back and why. The stopped worker's late result is refused.
func TestStoppedWorkersItemsRunAgain(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		e := newEnv(t, backend, 2)
		j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(6, nil))
		ids := itemIDs(t, e, j.ID)
		if err := e.store.RenewLease(ctx, listinggen.WorkerLease{ID: "stopped", Host: "h", PID: 1}, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		var late []*listinggen.JobItem
		for _, id := range ids[:3] {
			it, _, ok, err := e.store.ClaimItem(ctx, id, "stopped")
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			late = append(late, it)
		}
		fetchedBy(t, e, "stopped", ids[:4]...)
		time.Sleep(100 * time.Millisecond) // past the stopped worker's lease

		started := time.Now()
		e.start(t)
		j = e.wait(t, j.ID, completed)
		took := time.Since(started)
		if j.Counts[listinggen.ItemDone] != 6 || j.Recovered == nil || j.Recovered.Items != 3 || j.Recovered.Pending != 0 ||
			j.Recovered.Reasons[listinggen.RecoveredLeaseExpired] != 3 {
			t.Fatalf("job: %v, recovered %+v", j.Counts, j.Recovered)
		}
		if took > 30*time.Second {
			t.Errorf("the stopped worker's items took %v to run again", took)
		}
		st := riverStates(t, e, ids[:4]...)
		if st["cancelled"] != 4 || st["completed"] != 4 || st["running"] != 0 {
			t.Errorf("River jobs of the stopped worker's items: %v; want 4 cancelled and 4 completed", st)
		}
		late[0].State, late[0].ListingID = listinggen.ItemDone, "late"
		if err := e.store.FinishItem(ctx, late[0]); listinggen.ErrorCode(err) != listinggen.ECONFLICT {
			t.Errorf("the stopped worker's late result: %v, want ECONFLICT", err)
		}
		listings := map[string]bool{}
		e.store.JobItems(ctx, listinggen.DefaultTenant, j.ID, func(it *listinggen.JobItem) error {
			if it.ListingID == "" || it.ListingID == "late" || listings[it.ListingID] {
				t.Errorf("item %d: listing %q", it.Row, it.ListingID)
			}
			listings[it.ListingID] = true
			return nil
		})
		stats, err := e.store.RecoveryStats(ctx)
		if err != nil || stats.Recovered[listinggen.RecoveredLeaseExpired] != 3 || stats.Workers != 1 {
			t.Errorf("recovery stats: %+v, %v", stats, err)
		}
	})
}

// TestRecoverAtStart: the embedded store's owner takes back every item
// and River job a stopped process left running before its workers start,
// live-looking lease or not; an item whose last attempt died is failed
// with the reason instead of running again.
func TestRecoverAtStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "sqlite", 2)
	j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(4, nil))
	ids := itemIDs(t, e, j.ID)
	if err := e.store.RenewLease(ctx, listinggen.WorkerLease{ID: "previous", Host: "h", PID: 1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Item 4 has used every attempt (3) when its process stops.
	for range 2 {
		it, _, _, err := e.store.ClaimItem(ctx, ids[3], "previous")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.ReleaseItem(ctx, it, "EUNAVAILABLE: model down"); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{ids[0], ids[3]} {
		if _, _, ok, err := e.store.ClaimItem(ctx, id, "previous"); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	fetchedBy(t, e, "previous", ids[0], ids[1], ids[3])

	n, err := e.queue.RecoverAtStart(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RecoverAtStart = %d, %v; want 2 items", n, err)
	}
	e.start(t)
	j = e.wait(t, j.ID, completed)
	if j.Counts[listinggen.ItemDone] != 3 || j.Counts[listinggen.ItemFailed] != 1 || j.Recovered == nil ||
		j.Recovered.Reasons[listinggen.RecoveredAtRestart] != 2 || !strings.Contains(j.Recovered.Message, "at restart") {
		t.Fatalf("job: %v, recovered %+v", j.Counts, j.Recovered)
	}
	page, err := e.svc.Items(ctx, listinggen.DefaultTenant, j.ID, listinggen.JobItemFilter{States: []listinggen.ItemState{listinggen.ItemFailed}})
	if err != nil || len(page.Items) != 1 || page.Items[0].Row != 5 || !strings.Contains(page.Items[0].Error, "stopped on its last attempt") ||
		page.Items[0].Attempts != 4 {
		t.Errorf("failed items: %+v, %v", page.Items, err)
	}
	if st := riverStates(t, e, ids...); st["running"] != 0 || st["cancelled"] != 3 {
		t.Errorf("River jobs after the restart: %v", st)
	}
}

// TestCleanStopHandsItemsOver: a worker that stops while it still holds
// an item (an attempt cut off past the drain) ends its lease and takes the
// item back itself, so that another worker runs it at once rather than a
// lease later.
func TestCleanStopHandsItemsOver(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		e := newEnv(t, backend, 1)
		e.qc.Lease, e.qc.Heartbeat, e.qc.RescueAfter = time.Hour, time.Minute, 2*time.Hour
		j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(2, nil))
		ids := itemIDs(t, e, j.ID)
		if _, _, ok, err := e.store.ClaimItem(ctx, ids[0], e.queue.WorkerID()); err != nil || !ok {
			t.Fatal(ok, err)
		}
		fetchedBy(t, e, e.queue.WorkerID(), ids[0])
		if err := e.queue.Start(ctx); err != nil {
			t.Fatal(err)
		}
		j = e.wait(t, j.ID, func(j *listinggen.Job) bool { return j.Counts[listinggen.ItemDone] == 1 })
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := e.queue.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		other := e.otherWorker(t)
		if err := other.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer other.Stop(ctx)
		j = e.wait(t, j.ID, completed)
		if j.Recovered == nil || j.Recovered.Items != 1 || j.Recovered.Reasons[listinggen.RecoveredLeaseExpired] != 1 {
			t.Errorf("recovered: %+v", j.Recovered)
		}
		stats, err := e.store.RecoveryStats(ctx)
		if err != nil || stats.Workers != 1 {
			t.Errorf("live workers = %+v, %v; want the other one only", stats, err)
		}
	})
}

// otherWorker is a second worker process on e's store: a queue of its own
// with its own lease, stopped when the test ends.
func (e *env) otherWorker(t *testing.T) *jobs.Queue {
	t.Helper()
	qc := e.qc
	qc.Workers = 2
	q, err := openBackend(t, e.backend, qc, jobs.NewWorker(e.store, e.p, qc.Logger), e.store)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestLongModelCallKeepsItsItem: a model call longer than the lease does
// not lose its item, since the lease is the process's and its heartbeat
// goes on: with a second worker watching for expired leases, each item is
// worked once and none is taken back.
func TestLongModelCallKeepsItsItem(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, 2) // lease 1 s, heartbeat 100 ms
		j := submitCSV(t, e, listinggen.JobOptions{ShopIDs: []string{e.shops[0].ID}}, catalogue(2, map[int]string{1: "SLOW 连衣裙 一", 2: "SLOW 连衣裙 二"}))
		e.start(t)
		other := e.otherWorker(t)
		if err := other.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer other.Stop(context.Background())
		j = e.wait(t, j.ID, completed)
		if j.Counts[listinggen.ItemDone] != 2 || j.Recovered != nil || e.rw.slow.Load() != 2 {
			t.Errorf("job %v, recovered %+v, %d model calls; want 2 items done once each, none taken back", j.Counts, j.Recovered, e.rw.slow.Load())
		}
	})
}
