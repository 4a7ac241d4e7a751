package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/catalog"
)

// Estimator prices one item before it runs, for dry runs and the estimate
// every job shows. Nil means the offline rewriter: no tokens, no cost.
type Estimator interface {
	EstimateItem(p *listinggen.Product, shop *listinggen.Shop) (tokens int64, costUSD float64)
}

// Service submits and manages jobs; the HTTP handlers and the batch CLI
// call it.
type Service struct {
	store     Store
	queue     *Queue
	estimator Estimator
	now       func() time.Time
}

// NewService needs the store and a queue (insert-only is enough).
func NewService(store Store, queue *Queue, est Estimator, now func() time.Time) *Service {
	return &Service{store: store, queue: queue, estimator: est, now: now}
}

// targets resolves the job's shops: ids (each must exist) or a group,
// narrowed to the platform when one is given.
func (s *Service) targets(ctx context.Context, tenant string, o listinggen.JobOptions) ([]*listinggen.Shop, error) {
	var shops []*listinggen.Shop
	var errs []listinggen.FieldError
	for i, id := range o.ShopIDs {
		shop, err := s.store.FindShop(ctx, tenant, id)
		if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
			errs = append(errs, listinggen.FieldError{Field: fmt.Sprintf("shop_ids[%d]", i), Message: "no such shop"})
			continue
		}
		if err != nil {
			return nil, err
		}
		shops = append(shops, shop)
	}
	if err := listinggen.Invalid(errs); err != nil {
		return nil, err
	}
	if o.ShopGroup != "" {
		cursor := ""
		for {
			page, err := s.store.FindShops(ctx, tenant, listinggen.ShopFilter{Group: o.ShopGroup, Cursor: cursor, Limit: listinggen.MaxPageSize})
			if err != nil {
				return nil, err
			}
			shops = append(shops, page.Items...)
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	var out []*listinggen.Shop
	seen := map[string]bool{}
	for _, sh := range shops {
		if (o.Platform == "" || sh.Platform == o.Platform) && !seen[sh.ID] {
			seen[sh.ID] = true
			out = append(out, sh)
		}
	}
	if len(out) == 0 {
		field := "shop_ids"
		if o.ShopGroup != "" {
			field = "shop_group"
		}
		return nil, listinggen.Invalid([]listinggen.FieldError{{Field: field, Message: "no target shop (on that platform)"}})
	}
	if len(out) > listinggen.MaxJobShops {
		return nil, listinggen.Invalid([]listinggen.FieldError{{Field: "shop_group", Message: fmt.Sprintf("more than %d shops", listinggen.MaxJobShops)}})
	}
	return out, nil
}

// Submit records a job for every row of r × the target shops and enqueues
// its items, all in one transaction: the job exists with all its items
// queued, or not at all. Bad rows become invalid items with their
// problems; the rest go on.
func (s *Service) Submit(ctx context.Context, tenant string, opts listinggen.JobOptions, source, key string, r catalog.Reader) (*listinggen.Job, error) {
	if err := opts.Validate(""); err != nil {
		return nil, err
	}
	shops, err := s.targets(ctx, tenant, opts)
	if err != nil {
		return nil, err
	}
	job := &listinggen.Job{TenantID: tenant, State: listinggen.JobRunning, Options: opts, Source: source, Key: key}
	if opts.DryRun {
		job.State = listinggen.JobEstimated
	}
	var clusters clusterer
	job.Options.ClusterMethod = "" // the service's to say
	if opts.OnePerCluster {
		clusters, r = planClusters(r)
		job.Options.ClusterMethod = ClusterByExactTitle
		if _, ok := clusters.(evidence); ok {
			job.Options.ClusterMethod = ClusterByEvidence
		}
	}
	var pending []*listinggen.JobItem
	queued := 0
	header := r.HeaderProblems()
	next := func() (*listinggen.JobItem, error) {
		for len(pending) == 0 {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, listinggen.WrapError(listinggen.EINVALID, err, "the catalogue cannot be read past row %d: %v", row.Number, err)
			}
			pending = s.itemsFor(job, row, shops, clusters, header)
			header = nil
		}
		it := pending[0]
		pending = pending[1:]
		if it.State == listinggen.ItemQueued {
			queued++
		}
		return it, nil
	}
	var enqueue listinggen.EnqueueFunc
	if !opts.DryRun {
		enqueue = s.queue.Enqueue
	}
	if err := s.store.CreateJob(ctx, job, next, enqueue); err != nil {
		return nil, err
	}
	if queued == 0 && job.State == listinggen.JobRunning {
		if err := s.store.SetJobState(ctx, tenant, job.ID, []listinggen.JobState{listinggen.JobRunning}, listinggen.JobCompleted); err != nil {
			return nil, err
		}
	}
	return s.Get(ctx, tenant, job.ID)
}

// itemsFor turns one row into its items: one invalid item for a bad row,
// else one per shop, skipped when an earlier row of the same cluster
// stands for it, or (dry run) estimated only.
func (s *Service) itemsFor(job *listinggen.Job, row catalog.Row, shops []*listinggen.Shop, clusters clusterer, header []catalog.Problem) []*listinggen.JobItem {
	problems := append(append([]catalog.Problem(nil), header...), row.Problems...)
	if len(row.Problems) > 0 {
		it := &listinggen.JobItem{Row: row.Number, Product: row.Product, State: listinggen.ItemInvalid, Problems: fieldErrors(problems)}
		it.Error = describe(row.Problems)
		return []*listinggen.JobItem{it}
	}
	skipReason := ""
	if clusters != nil {
		skipReason = clusters.skipReason(row)
	}
	items := make([]*listinggen.JobItem, 0, len(shops))
	for _, sh := range shops {
		it := &listinggen.JobItem{Row: row.Number, ShopID: sh.ID, Product: row.Product, State: listinggen.ItemQueued, Problems: fieldErrors(header)}
		switch {
		case skipReason != "":
			it.State, it.Error = listinggen.ItemSkipped, skipReason
		case job.Options.DryRun:
			it.State, it.Error = listinggen.ItemSkipped, "dry run: estimated, not run"
		}
		if it.State == listinggen.ItemQueued || job.Options.DryRun && skipReason == "" {
			if s.estimator != nil {
				t, c := s.estimator.EstimateItem(&row.Product, sh)
				job.EstimatedTokens += t
				job.EstimatedCostUSD += c
			}
		}
		items = append(items, it)
	}
	return items
}

func fieldErrors(ps []catalog.Problem) []listinggen.FieldError {
	var out []listinggen.FieldError
	for _, p := range ps {
		out = append(out, listinggen.FieldError{Field: fmt.Sprintf("row %d: %s", p.Row, p.Column), Message: p.Message})
	}
	return out
}

func describe(ps []catalog.Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strings.TrimPrefix(p.Column+": ", ": ") + p.Message
	}
	return strings.Join(parts, "; ")
}

// Get returns the job with its progress.
func (s *Service) Get(ctx context.Context, tenant, id string) (*listinggen.Job, error) {
	j, err := s.store.FindJob(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	j.Progress(s.now())
	return j, nil
}

// List returns a page of the tenant's jobs, newest first, with progress.
func (s *Service) List(ctx context.Context, tenant string, f listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error) {
	page, err := s.store.FindJobs(ctx, tenant, f)
	if err != nil {
		return page, err
	}
	now := s.now()
	for _, j := range page.Items {
		j.Progress(now)
	}
	return page, nil
}

// Items returns a page of the job's items in (row, shop) order: how a
// client reads the per-item errors of a large job without exporting it.
func (s *Service) Items(ctx context.Context, tenant, id string, f listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error) {
	return s.store.FindJobItems(ctx, tenant, id, f)
}

// Cancel stops a running or paused job: queued items will not start.
func (s *Service) Cancel(ctx context.Context, tenant, id string) (*listinggen.Job, error) {
	err := s.store.SetJobState(ctx, tenant, id, []listinggen.JobState{listinggen.JobRunning, listinggen.JobPaused}, listinggen.JobCancelled)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, tenant, id)
}

// Retry re-enqueues the job's failed items.
func (s *Service) Retry(ctx context.Context, tenant, id string) (*listinggen.Job, int, error) {
	return s.requeue(ctx, tenant, id, listinggen.ItemFailed)
}

// Resume re-enqueues the items a budget pause left waiting, under a new
// budget (nil keeps the old one, which pauses the job again at once if it
// is still reached; 0 removes it).
func (s *Service) Resume(ctx context.Context, tenant, id string, maxTokens *int64, maxCostUSD *float64) (*listinggen.Job, int, error) {
	if maxTokens != nil || maxCostUSD != nil {
		j, err := s.store.FindJob(ctx, tenant, id)
		if err != nil {
			return nil, 0, err
		}
		if maxTokens != nil {
			j.Options.MaxTokens = *maxTokens
		}
		if maxCostUSD != nil {
			j.Options.MaxCostUSD = *maxCostUSD
		}
		if err := j.Options.Validate(""); err != nil {
			return nil, 0, err
		}
		if err := s.store.SetJobOptions(ctx, tenant, id, j.Options); err != nil {
			return nil, 0, err
		}
	}
	return s.requeue(ctx, tenant, id, listinggen.ItemPaused)
}

func (s *Service) requeue(ctx context.Context, tenant, id string, st listinggen.ItemState) (*listinggen.Job, int, error) {
	n, err := s.store.RequeueItems(ctx, tenant, id, []listinggen.ItemState{st}, s.queue.Enqueue)
	if err != nil {
		return nil, 0, err
	}
	j, err := s.Get(ctx, tenant, id)
	return j, n, err
}

// Results streams the job's items in (row, shop) order, each with its
// listing when it has one, into w in the format f.
func (s *Service) Results(ctx context.Context, tenant, id string, f catalog.Format, w io.Writer) error {
	if _, err := s.store.FindJob(ctx, tenant, id); err != nil {
		return err
	}
	rw, err := catalog.NewResultWriter(w, f)
	if err != nil {
		return err
	}
	err = s.store.JobItems(ctx, tenant, id, func(it *listinggen.JobItem) error {
		if it.ListingID != "" {
			l, err := s.store.FindListing(ctx, tenant, it.ListingID)
			if err != nil && listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
				return err
			}
			it.Listing = l
		}
		return rw.Write(it)
	})
	return errors.Join(err, rw.Close())
}
