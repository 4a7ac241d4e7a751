package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

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
}

// NewWorker returns the worker a queue with Workers > 0 runs.
func NewWorker(store Store, p *pipeline.Pipeline, logger *slog.Logger) *Worker {
	return &Worker{store: store, pipeline: p, logger: logger, maxAttempts: DefaultConfig().MaxAttempts}
}

// Work claims the item, runs the pipeline and records the outcome. A
// transient failure puts the item back and returns the error, so River
// retries it with backoff; a permanent one, or the last attempt, records
// the item as failed with the reason and discards the River job.
func (w *Worker) Work(ctx context.Context, j *river.Job[ItemArgs]) error {
	item, job, ok, err := w.store.ClaimItem(ctx, j.Args.ItemID)
	if err != nil {
		if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
			return river.JobCancel(fmt.Errorf("item %d no longer exists", j.Args.ItemID))
		}
		return err
	}
	if !ok {
		return nil // already final: a duplicate delivery
	}
	switch {
	case job.State == listinggen.JobCancelled:
		item.State = listinggen.ItemCancelled
		return w.store.FinishItem(ctx, item)
	case job.State == listinggen.JobPaused || job.OverBudget():
		if job.State == listinggen.JobRunning {
			err := w.store.SetJobState(ctx, job.TenantID, job.ID, []listinggen.JobState{listinggen.JobRunning}, listinggen.JobPaused)
			if err != nil && listinggen.ErrorCode(err) != listinggen.ECONFLICT {
				return err
			}
			w.logger.Info("job paused: budget reached", "job", job.ID, "tokens", job.PromptTokens+job.CompletionTokens, "cost_usd", job.CostUSD)
		}
		item.State = listinggen.ItemPaused
		return w.store.FinishItem(ctx, item)
	}

	if j.Attempt > w.maxAttempts {
		// Only a rescue after the last attempt's process died gets here.
		item.State, item.Error = listinggen.ItemFailed, fmt.Sprintf("internal: the process working this item died on its last attempt (%d)", w.maxAttempts)
		return w.store.FinishItem(ctx, item)
	}
	err = w.generate(ctx, job, item)
	if err == nil {
		return w.store.FinishItem(ctx, item)
	}
	reason := fmt.Sprintf("%s: %s", listinggen.ErrorCode(err), listinggen.ErrorMessage(err))
	if listinggen.ErrorCode(err) == listinggen.EINTERNAL {
		reason = "internal: " + err.Error()
	}
	if permanent(err) || j.Attempt >= w.maxAttempts {
		w.logger.Warn("item discarded", "job", job.ID, "item", item.ID, "row", item.Row, "shop", item.ShopID, "attempt", j.Attempt, "err", err)
		item.State, item.Error = listinggen.ItemFailed, reason
		if ferr := w.store.FinishItem(ctx, item); ferr != nil {
			return ferr // River retries; the next attempt discards again
		}
		return river.JobCancel(err)
	}
	if rerr := w.store.ReleaseItem(ctx, item.ID, reason); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
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
