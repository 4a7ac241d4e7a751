package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
)

// TestPausedTransactionIsEndedByTheServer: a process paused in the middle
// of a transaction that holds an item's row (here: a transaction that
// claims the item and then waits) no longer blocks another worker's claim
// once IdleInTransactionTimeout has passed: the server ends the session
// and its lock with it, and the paused process learns it as EUNAVAILABLE.
func TestPausedTransactionIsEndedByTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.IdleInTransactionTimeout = 500 * time.Millisecond
	paused, other := openStore(t, cfg), openStore(t, cfg)
	sh := mustShop(t, paused, "t1", "")
	job := &listinggen.Job{TenantID: "t1", State: listinggen.JobRunning, Source: "items"}
	sent := false
	if err := paused.CreateJob(ctx, job, func() (*listinggen.JobItem, error) {
		if sent {
			return nil, nil
		}
		sent = true
		return &listinggen.JobItem{Row: 1, ShopID: sh.ID, State: listinggen.ItemQueued, Product: listinggen.Product{ID: "p1", Title: "商品"}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	var itemID int64
	if err := paused.pool.QueryRow(ctx, `SELECT id FROM job_items WHERE job_id = $1`, job.ID).Scan(&itemID); err != nil {
		t.Fatal(err)
	}
	tx, err := paused.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT state FROM job_items WHERE id = $1 FOR UPDATE`, itemID); err != nil {
		t.Fatal(err)
	}
	// The process is paused here, its transaction open.
	start := time.Now()
	claimCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	it, _, ok, err := other.ClaimItem(claimCtx, itemID, "other")
	if err != nil || !ok || it.Claim != 1 {
		t.Fatalf("claim behind a paused transaction: %v, %v", ok, err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("the claim waited %v behind the paused transaction", waited)
	}
	// The paused process wakes: its transaction is gone.
	_, err = tx.Exec(ctx, `UPDATE job_items SET state = 'running' WHERE id = $1`, itemID)
	if code := listinggen.ErrorCode(translate(err)); code != listinggen.EUNAVAILABLE {
		t.Errorf("the paused process's next statement: %v (%s), want EUNAVAILABLE", err, code)
	}
	tx.Rollback(ctx)
}
