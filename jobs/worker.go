package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/riverqueue/river"
)

// Store is what workers and the service need of the store.
type Store interface {
	listinggen.JobStore
	FindShop(ctx context.Context, tenantID, id string) (*listinggen.Shop, error)
	FindShops(ctx context.Context, tenantID string, filter listinggen.ShopFilter) (listinggen.Page[*listinggen.Shop], error)
	FindListing(ctx context.Context, tenantID, id string) (*listinggen.Listing, error)
}

// Worker runs one item through the pipeline.
type Worker struct {
	river.WorkerDefaults[ItemArgs]
	store       Store
	pipeline    *pipeline.Pipeline
	logger      *slog.Logger
	maxAttempts int
	// workerID is the queue's lease id, recorded by the items it claims.
	workerID string
	// snooze is how long a delivery whose item was taken over waits before
	// River looks at it again (the rescue delay): by then the item's new
	// holder has finished it, and the delivery is a no-op.
	snooze time.Duration
}

// NewWorker returns the worker a queue with Workers > 0 runs.
func NewWorker(store Store, p *pipeline.Pipeline, logger *slog.Logger) *Worker {
	d := DefaultConfig()
	return &Worker{store: store, pipeline: p, logger: logger, maxAttempts: d.MaxAttempts, snooze: d.RescueAfter}
}

// Work claims the item, runs the pipeline and records the outcome. A
// transient failure puts the item back and returns the error, so River
// retries it with backoff; a permanent one, or the last attempt, records
// the item as failed with the reason and discards the River job. Attempts
// are the item's (ClaimItem counts them), so that an attempt whose process
// died counts even though its item comes back in a new River job.
func (w *Worker) Work(ctx context.Context, j *river.Job[ItemArgs]) error {
	item, job, ok, err := w.store.ClaimItem(ctx, j.Args.ItemID, w.workerID)
	if err != nil {
		if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
			return river.JobCancel(fmt.Errorf("item %d no longer exists", j.Args.ItemID))
		}
		return err
	}
	if !ok {
		return nil // already final: a duplicate delivery
	}
	attempt := max(j.Attempt, item.Attempts)
	switch {
	case job.State == listinggen.JobCancelled:
		item.State = listinggen.ItemCancelled
		return w.finish(ctx, item)
	case job.State == listinggen.JobPaused || job.OverBudget():
		if job.State == listinggen.JobRunning {
			err := w.store.SetJobState(ctx, job.TenantID, job.ID, []listinggen.JobState{listinggen.JobRunning}, listinggen.JobPaused)
			if err != nil && listinggen.ErrorCode(err) != listinggen.ECONFLICT {
				return err
			}
			w.logger.Info("job paused: budget reached", "job", job.ID, "tokens", job.PromptTokens+job.CompletionTokens, "cost_usd", job.CostUSD)
		}
		item.State = listinggen.ItemPaused
		return w.finish(ctx, item)
	}

	if attempt > w.maxAttempts {
		// Only an attempt after the last one's process died gets here.
		item.State, item.Error = listinggen.ItemFailed, fmt.Sprintf("internal: the process working this item stopped on its last attempt (%d)", w.maxAttempts)
		return w.finish(ctx, item)
	}
	err = w.generate(ctx, job, item)
	if err == nil {
		return w.finish(ctx, item)
	}
	reason := fmt.Sprintf("%s: %s", listinggen.ErrorCode(err), listinggen.ErrorMessage(err))
	if listinggen.ErrorCode(err) == listinggen.EINTERNAL {
		reason = "internal: " + err.Error()
	}
	if permanent(err) || attempt >= w.maxAttempts {
		w.logger.Warn("item discarded", "job", job.ID, "item", item.ID, "row", item.Row, "shop", item.ShopID, "attempt", attempt, "err", err)
		item.State, item.Error = listinggen.ItemFailed, reason
		if ferr := w.finish(ctx, item); ferr != nil {
			return ferr // River retries (the next attempt discards again), or snoozes a lost claim
		}
		return river.JobCancel(err)
	}
	if rerr := w.store.ReleaseItem(ctx, item, reason); rerr != nil {
		if lost := w.lost(item, rerr); lost != nil {
			return lost
		}
		return errors.Join(err, rerr)
	}
	return err
}

// finish records the item's outcome under its claim.
func (w *Worker) finish(ctx context.Context, item *listinggen.JobItem) error {
	err := w.store.FinishItem(ctx, item)
	if lost := w.lost(item, err); lost != nil {
		return lost
	}
	return err
}

// lost turns a claim this worker lost (the item was taken back while it
// was paused or cut off, and given to another worker) into a snooze: the
// result is dropped, since the item's new holder writes it, and the River
// job is looked at again after the rescue delay, when it is a no-op. It
// returns nil for any other error.
func (w *Worker) lost(item *listinggen.JobItem, err error) error {
	if listinggen.ErrorCode(err) != listinggen.ECONFLICT {
		return nil
	}
	w.logger.Warn("item taken back from this worker: its result is dropped, the item's new holder writes it",
		"job", item.JobID, "item", item.ID, "row", item.Row, "shop", item.ShopID, "worker", w.workerID)
	return river.JobSnooze(w.snooze)
}

// generate runs the pipeline, turning a panic (a poison row that breaks a
// step) into an error so that the item is failed with a reason instead of
// crashing the worker.
func (w *Worker) generate(ctx context.Context, job *listinggen.Job, item *listinggen.JobItem) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.logger.Error("pipeline panic", "job", job.ID, "item", item.ID, "panic", r, "stack", string(debug.Stack()))
			err = listinggen.Errorf(listinggen.EINVALID, "processing the item failed (panic: %v)", r)
		}
	}()
	shop, err := w.store.FindShop(ctx, job.TenantID, item.ShopID)
	if err != nil {
		return err
	}
	// The job's model calls are booked to it (GET /v1/usage?job_id=).
	ctx = listinggen.WithUsageAccount(ctx, listinggen.UsageAccount{TenantID: job.TenantID, ShopID: shop.ID, JobID: job.ID})
	st, err := w.pipeline.Generate(ctx, job.TenantID, item.Product, shop)
	if err != nil {
		return err
	}
	item.State = listinggen.ItemDone
	item.ListingID = st.Listing.ID
	item.Error = ""
	if st.Created {
		pv := st.Listing.Provenance
		item.PromptTokens, item.CompletionTokens, item.CostUSD = int64(pv.PromptTokens), int64(pv.CompletionTokens), pv.CostUSD
	}
	return nil
}
