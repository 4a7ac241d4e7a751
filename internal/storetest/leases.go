package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
)

// queuedJob stores a job of n queued items (rows 1…n, one shop) and
// returns it with the items' ids in row order.
func queuedJob(t *testing.T, js listinggen.JobStore, tenant, shopID string, n int) (*listinggen.Job, []int64) {
	t.Helper()
	job := &listinggen.Job{TenantID: tenant, State: listinggen.JobRunning, Source: "items"}
	var items []*listinggen.JobItem
	next := func() (*listinggen.JobItem, error) {
		if len(items) == n {
			return nil, nil
		}
		i := len(items) + 1
		it := &listinggen.JobItem{Row: i, ShopID: shopID, State: listinggen.ItemQueued,
			Product: listinggen.Product{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("商品 %d", i)}}
		items = append(items, it)
		return it, nil
	}
	if err := js.CreateJob(ctx, job, next, nil); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	ids := make([]int64, n)
	for i, it := range items {
		ids[i] = it.ID
	}
	return job, ids
}

func mustClaim(t *testing.T, js listinggen.JobStore, id int64, worker string) *listinggen.JobItem {
	t.Helper()
	it, _, ok, err := js.ClaimItem(ctx, id, worker)
	if err != nil || !ok {
		t.Fatalf("ClaimItem(%d, %s) = %v, %v", id, worker, ok, err)
	}
	return it
}

func mustFinish(t *testing.T, js listinggen.JobStore, it *listinggen.JobItem) {
	t.Helper()
	it.State = listinggen.ItemDone
	if err := js.FinishItem(ctx, it); err != nil {
		t.Fatalf("FinishItem(%d): %v", it.ID, err)
	}
}

func mustRenew(t *testing.T, js listinggen.JobStore, id string, d time.Duration) {
	t.Helper()
	if err := js.RenewLease(ctx, listinggen.WorkerLease{ID: id, Host: "test-host", PID: 42}, d); err != nil {
		t.Fatalf("RenewLease(%s): %v", id, err)
	}
}

func mustStats(t *testing.T, js listinggen.JobStore) listinggen.RecoveryStats {
	t.Helper()
	st, err := js.RecoveryStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// reclaimed records what ReclaimItems handed to the queue.
type reclaimed struct {
	mu      sync.Mutex
	calls   int
	items   []int64
	workers []string
}

func (r *reclaimed) requeue(_ context.Context, tx any, items []int64, workers []string) error {
	if tx == nil {
		return errors.New("requeue called without the store's transaction")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.items = append(r.items, items...)
	r.workers = append(r.workers, workers...)
	return nil
}

func recoveryOf(t *testing.T, js listinggen.JobStore, tenant, id string) *listinggen.Job {
	t.Helper()
	j, err := js.FindJob(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// testLeasesAndFencing: the items of a worker whose lease expired go back
// to queued with the reason, once, while a live worker's stay; the
// stopped worker's late result is refused (the claim fence), the item's
// attempt is counted, and the job says how many items were taken back and
// why. A running item delivered again is taken over and fences the
// earlier claim; a clean stop's leftovers are taken back at once.
func testLeasesAndFencing(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "A", "")
	job, ids := queuedJob(t, s, "t1", sh.ID, 4)
	mustRenew(t, s, "live", time.Hour)
	mustRenew(t, s, "stopped", 50*time.Millisecond)
	a := mustClaim(t, s, ids[0], "live")
	b := mustClaim(t, s, ids[1], "stopped")
	c := mustClaim(t, s, ids[2], "stopped")
	if a.Claim <= 0 || b.Attempts != 1 || a.TenantID != "t1" {
		t.Fatalf("claimed item: claim %d, attempts %d, tenant %q", a.Claim, b.Attempts, a.TenantID)
	}
	time.Sleep(150 * time.Millisecond)

	var got reclaimed
	n, err := s.ReclaimItems(ctx, listinggen.ReclaimExpired, got.requeue)
	if err != nil || n != 2 {
		t.Fatalf("ReclaimItems = %d, %v; want the stopped worker's 2 items", n, err)
	}
	slices.Sort(got.items)
	if fmt.Sprint(got.items) != fmt.Sprint(ids[1:3]) || fmt.Sprint(got.workers) != "[stopped]" {
		t.Errorf("requeued items %v of workers %v, want %v of [stopped]", got.items, got.workers, ids[1:3])
	}
	j := recoveryOf(t, s, "t1", job.ID)
	if j.Counts[listinggen.ItemQueued] != 3 || j.Counts[listinggen.ItemRunning] != 1 {
		t.Errorf("counts after the reclaim: %v", j.Counts)
	}
	r := j.Recovered
	if r == nil || r.Items != 2 || r.Pending != 2 || r.Reasons[listinggen.RecoveredLeaseExpired] != 2 ||
		r.Message != "2 items taken back from a stopped worker (lease expired); 2 not finished yet" {
		t.Errorf("job recovery = %+v", r)
	}
	_, err = s.FindJob(ctx, "t2", job.ID)
	wantCode(t, err, listinggen.ENOTFOUND)
	page, err := s.FindJobItems(ctx, "t1", job.ID, listinggen.JobItemFilter{States: []listinggen.ItemState{listinggen.ItemQueued}})
	if err != nil || len(page.Items) != 3 || page.Items[0].Recovered != listinggen.RecoveredLeaseExpired ||
		!strings.Contains(page.Items[0].Error, "lease expired") || page.Items[2].Recovered != "" {
		t.Errorf("queued items after the reclaim: %+v, %v", page.Items, err)
	}

	// The stopped worker wakes: its result and its release are refused.
	b.State, b.ListingID = listinggen.ItemDone, "late"
	wantCode(t, s.FinishItem(ctx, b), listinggen.ECONFLICT)
	wantCode(t, s.ReleaseItem(ctx, c, "EUNAVAILABLE: model down"), listinggen.ECONFLICT)
	if n, err := s.ReclaimItems(ctx, listinggen.ReclaimExpired, got.requeue); err != nil || n != 0 || got.calls != 1 {
		t.Errorf("second reclaim = %d, %v (%d requeue calls); want nothing", n, err, got.calls)
	}
	if st := mustStats(t, s); st.Workers != 1 || st.Recovered[listinggen.RecoveredLeaseExpired] != 2 || st.Recovered[listinggen.RecoveredRescued] != 0 {
		t.Errorf("stats after the reclaim: %+v", st)
	}
	// It renews under the same id and carries on; what was taken back
	// stays taken back.
	mustRenew(t, s, "stopped", time.Hour)
	if st := mustStats(t, s); st.Workers != 2 {
		t.Errorf("live workers after the renewal = %d, want 2", st.Workers)
	}

	b2 := mustClaim(t, s, ids[1], "live")
	if b2.Attempts != 2 || b2.Claim <= b.Claim || b2.Recovered != listinggen.RecoveredLeaseExpired {
		t.Errorf("item claimed again: attempts %d, claim %d after %d, recovered %q", b2.Attempts, b2.Claim, b.Claim, b2.Recovered)
	}
	mustFinish(t, s, b2)
	wantCode(t, s.FinishItem(ctx, b2), listinggen.ECONFLICT) // final: written once
	page, _ = s.FindJobItems(ctx, "t1", job.ID, listinggen.JobItemFilter{States: []listinggen.ItemState{listinggen.ItemDone}})
	if len(page.Items) != 1 || page.Items[0].ListingID == "late" {
		t.Errorf("done items: %+v", page.Items)
	}

	// The queue's rescue delivers a running item again: taken over.
	c2 := mustClaim(t, s, ids[2], "live")
	d1 := mustClaim(t, s, ids[3], "live")
	d2 := mustClaim(t, s, ids[3], "stopped")
	if d2.Recovered != listinggen.RecoveredRescued || d2.Attempts != 2 {
		t.Errorf("item taken over: recovered %q, attempts %d", d2.Recovered, d2.Attempts)
	}
	d1.State = listinggen.ItemDone
	wantCode(t, s.FinishItem(ctx, d1), listinggen.ECONFLICT)
	mustFinish(t, s, d2)
	if st := mustStats(t, s); st.Recovered[listinggen.RecoveredRescued] != 1 {
		t.Errorf("rescued count = %d, want 1", st.Recovered[listinggen.RecoveredRescued])
	}

	// A clean stop ends the lease: what the worker still holds is taken
	// back at the next reclaim, not a lease later.
	if err := s.EndLease(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ReclaimItems(ctx, listinggen.ReclaimExpired, got.requeue); err != nil || n != 2 {
		t.Fatalf("reclaim after EndLease = %d, %v; want items 1 and 3", n, err)
	}
	j = recoveryOf(t, s, "t1", job.ID)
	r = j.Recovered
	if r == nil || r.Items != 4 || r.Pending != 2 || r.Reasons[listinggen.RecoveredLeaseExpired] != 3 || r.Reasons[listinggen.RecoveredRescued] != 1 ||
		r.Message != "4 items taken back from a stopped worker (lease expired: 3, after the rescue delay: 1); 2 not finished yet" {
		t.Errorf("job recovery after the second reclaim = %+v", r)
	}
	c2.State = listinggen.ItemDone // its worker stopped cleanly: too late
	wantCode(t, s.FinishItem(ctx, c2), listinggen.ECONFLICT)
	for _, id := range []int64{ids[0], ids[2]} {
		mustFinish(t, s, mustClaim(t, s, id, "stopped"))
	}
	j = recoveryOf(t, s, "t1", job.ID)
	if j.State != listinggen.JobCompleted || j.Counts[listinggen.ItemDone] != 4 || j.Recovered.Pending != 0 ||
		!strings.HasSuffix(j.Recovered.Message, "; all finished since") {
		t.Errorf("job at the end: %s %v %+v", j.State, j.Counts, j.Recovered)
	}
	if err := s.RenewLease(ctx, listinggen.WorkerLease{}, time.Second); listinggen.ErrorCode(err) != listinggen.EINVALID {
		t.Errorf("lease without an id: %v", err)
	}
}

// testReclaimAtRestart: the embedded store's owner takes back every
// running item at start, live-looking leases included (their process is
// gone), with the attempt counted; a failing requeue leaves everything as
// it was.
func testReclaimAtRestart(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "A", "")
	job, ids := queuedJob(t, s, "t1", sh.ID, 3)
	mustRenew(t, s, "previous", time.Hour)
	mustClaim(t, s, ids[0], "previous")
	mustClaim(t, s, ids[1], "previous")

	err := func() error {
		_, err := s.ReclaimItems(ctx, listinggen.ReclaimAll, func(context.Context, any, []int64, []string) error {
			return errors.New("queue down")
		})
		return err
	}()
	if err == nil {
		t.Fatal("ReclaimItems with a failing requeue succeeded")
	}
	if j := recoveryOf(t, s, "t1", job.ID); j.Counts[listinggen.ItemRunning] != 2 || j.Recovered != nil {
		t.Errorf("after a failed reclaim: %v %+v", j.Counts, j.Recovered)
	}

	var got reclaimed
	n, err := s.ReclaimItems(ctx, listinggen.ReclaimAll, got.requeue)
	if err != nil || n != 2 || fmt.Sprint(got.workers) != "[previous]" {
		t.Fatalf("ReclaimAll = %d, %v, workers %v", n, err, got.workers)
	}
	j := recoveryOf(t, s, "t1", job.ID)
	if j.Counts[listinggen.ItemQueued] != 3 || j.Recovered == nil || j.Recovered.Reasons[listinggen.RecoveredAtRestart] != 2 ||
		j.Recovered.Message != "2 items taken back from a stopped worker (at restart); 2 not finished yet" {
		t.Errorf("after the restart: %v %+v", j.Counts, j.Recovered)
	}
	if st := mustStats(t, s); st.Workers != 0 || st.Recovered[listinggen.RecoveredAtRestart] != 2 {
		t.Errorf("stats after the restart: %+v", st)
	}
	again := mustClaim(t, s, ids[0], "owner")
	if again.Attempts != 2 {
		t.Errorf("attempts after the restart = %d, want 2 (the lost attempt counts)", again.Attempts)
	}
	// Nothing running: the queue is still asked to forget its stopped
	// deliveries.
	mustFinish(t, s, again)
	calls := got.calls
	if _, err := s.ReclaimItems(ctx, listinggen.ReclaimAll, got.requeue); err != nil || got.calls != calls+1 {
		t.Errorf("ReclaimAll with nothing running: %v, %d requeue calls", err, got.calls-calls)
	}
}

// testConcurrentReclaim: reclaimers in several workers at once take each
// item back exactly once.
func testConcurrentReclaim(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "A", "")
	_, ids := queuedJob(t, s, "t1", sh.ID, 20)
	mustRenew(t, s, "gone", 20*time.Millisecond)
	for _, id := range ids {
		mustClaim(t, s, id, "gone")
	}
	time.Sleep(100 * time.Millisecond)
	var got reclaimed
	var wg sync.WaitGroup
	total := make([]int, 4)
	for i := range total {
		wg.Go(func() {
			for range 3 {
				n, err := s.ReclaimItems(ctx, listinggen.ReclaimExpired, got.requeue)
				if err != nil && listinggen.ErrorCode(err) != listinggen.EUNAVAILABLE {
					t.Errorf("ReclaimItems: %v", err)
				}
				total[i] += n
			}
		})
	}
	wg.Wait()
	sum := 0
	for _, n := range total {
		sum += n
	}
	slices.Sort(got.items)
	if sum != len(ids) || fmt.Sprint(got.items) != fmt.Sprint(ids) {
		t.Errorf("reclaimed %d items (%v), want each of %d once", sum, got.items, len(ids))
	}
	if st := mustStats(t, s); st.Recovered[listinggen.RecoveredLeaseExpired] != int64(len(ids)) {
		t.Errorf("recovered count = %d", st.Recovered[listinggen.RecoveredLeaseExpired])
	}
}
