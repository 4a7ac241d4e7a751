package listinggen

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// JobState is where a batch job stands.
type JobState string

const (
	// JobRunning has items waiting or in progress.
	JobRunning JobState = "running"
	// JobPaused reached its token or cost budget; its unstarted items wait
	// for POST /v1/jobs/{id}/resume.
	JobPaused JobState = "paused"
	// JobCancelled will start no more items.
	JobCancelled JobState = "cancelled"
	// JobCompleted has every item in a final state (done, failed, invalid,
	// skipped). Failed items can still be retried.
	JobCompleted JobState = "completed"
	// JobEstimated is a dry run: items were counted and costed, nothing ran.
	JobEstimated JobState = "estimated"
)

// ItemState is where one (product, shop) item of a job stands.
type ItemState string

const (
	ItemQueued    ItemState = "queued"
	ItemRunning   ItemState = "running"
	ItemDone      ItemState = "done"
	ItemFailed    ItemState = "failed"    // discarded after its attempts, with the reason
	ItemInvalid   ItemState = "invalid"   // the row itself is bad: never run
	ItemSkipped   ItemState = "skipped"   // one listing per duplicate cluster: another row stands for it
	ItemPaused    ItemState = "paused"    // the job's budget was reached before it ran
	ItemCancelled ItemState = "cancelled" // the job was cancelled before it ran
)

// ItemStates lists every item state in the order progress reports use.
var ItemStates = []ItemState{ItemQueued, ItemRunning, ItemDone, ItemFailed, ItemInvalid, ItemSkipped, ItemPaused, ItemCancelled}

// Final reports whether an item in state s will not run again unless
// retried or resumed.
func (s ItemState) Final() bool {
	return s != ItemQueued && s != ItemRunning
}

// JobOptions are what a client chooses when it submits a catalogue.
type JobOptions struct {
	// ShopIDs or ShopGroup (every shop of the group) are the targets.
	ShopIDs   []string `json:"shop_ids,omitempty"`
	ShopGroup string   `json:"shop_group,omitempty"`
	// Platform keeps only the target shops on that platform.
	Platform Platform `json:"platform,omitempty"`
	// OnePerCluster makes one listing per cluster of duplicate products:
	// the other rows of a cluster are skipped, naming the row listed (see
	// jobs/clusters.go).
	OnePerCluster bool `json:"one_per_cluster,omitempty"`
	// ClusterMethod is set by the service, not the client: "evidence"
	// (the dedup verifier, the most complete and cheapest offer listed) or
	// "exact_title" (catalogues too large for it: same normalised title,
	// category and brand, the first row listed).
	ClusterMethod string `json:"cluster_method,omitempty"`
	// MaxTokens and MaxCostUSD pause the job when its spend reaches them
	// (0: no budget).
	MaxTokens  int64   `json:"max_tokens,omitempty"`
	MaxCostUSD float64 `json:"max_cost_usd,omitempty"`
	// DryRun estimates tokens and cost without calling the model.
	DryRun bool `json:"dry_run,omitempty"`
}

// Validate reports every problem at once, with fields prefixed by prefix.
func (o *JobOptions) Validate(prefix string) error {
	f := func(n string) string { return joinField(prefix, n) }
	var errs []FieldError
	if len(o.ShopIDs) == 0 && o.ShopGroup == "" {
		errs = append(errs, FieldError{f("shop_ids"), "name target shops (shop_ids) or a shop_group"})
	}
	if len(o.ShopIDs) > 0 && o.ShopGroup != "" {
		errs = append(errs, FieldError{f("shop_group"), "give shop_ids or shop_group, not both"})
	}
	if len(o.ShopIDs) > MaxJobShops {
		errs = append(errs, FieldError{f("shop_ids"), fmt.Sprintf("at most %d shops", MaxJobShops)})
	}
	for i, id := range o.ShopIDs {
		errs = append(errs, requireText(f(fmt.Sprintf("shop_ids[%d]", i)), id, MaxShortTextRunes, false)...)
	}
	errs = append(errs, CheckText(f("shop_group"), o.ShopGroup, MaxShortTextRunes, false)...)
	if o.Platform != "" && !o.Platform.Valid() {
		errs = append(errs, FieldError{f("platform"), "unknown platform"})
	}
	if o.MaxTokens < 0 {
		errs = append(errs, FieldError{f("max_tokens"), "must not be negative"})
	}
	if o.MaxCostUSD < 0 {
		errs = append(errs, FieldError{f("max_cost_usd"), "must not be negative"})
	}
	return Invalid(errs)
}

// MaxJobShops bounds the shops of one job (items = rows × shops).
const MaxJobShops = 500

// Job is a catalogue × shops batch.
type Job struct {
	ID       string     `json:"id"`
	TenantID string     `json:"-"`
	State    JobState   `json:"state"`
	Options  JobOptions `json:"options"`
	// Source says where the rows came from: "items" or the uploaded file's name.
	Source string `json:"source"`
	// Rows is the number of catalogue rows read; Items = rows × shops.
	Rows  int `json:"rows"`
	Items int `json:"items"`
	// Counts has every ItemState, zeros included.
	Counts           map[ItemState]int `json:"counts"`
	PromptTokens     int64             `json:"prompt_tokens"`
	CompletionTokens int64             `json:"completion_tokens"`
	CostUSD          float64           `json:"cost_usd"`
	// EstimatedTokens and EstimatedCostUSD are the dry-run estimate (or
	// the submission's, for a real run).
	EstimatedTokens  int64      `json:"estimated_tokens"`
	EstimatedCostUSD float64    `json:"estimated_cost_usd"`
	CreatedAt        time.Time  `json:"created_at"`
	StartedAt        *time.Time `json:"started_at,omitempty"`
	FinishedAt       *time.Time `json:"finished_at,omitempty"`
	// ItemsPerSecond and ETASeconds are computed when the job is read.
	ItemsPerSecond float64  `json:"items_per_second"`
	ETASeconds     *float64 `json:"eta_seconds,omitempty"`
	// Recovered counts the items taken back from a worker that stopped
	// (nil when none was), filled with Counts.
	Recovered *JobRecovery `json:"recovered,omitempty"`
	// Key identifies a submission for resuming it (the batch CLI: input
	// file hash and options); empty for API jobs.
	Key string `json:"-"`
}

// Progress fills ItemsPerSecond and ETASeconds from the counts at now.
func (j *Job) Progress(now time.Time) {
	finished := j.Counts[ItemDone] + j.Counts[ItemFailed]
	left := j.Counts[ItemQueued] + j.Counts[ItemRunning]
	j.ItemsPerSecond, j.ETASeconds = 0, nil
	if j.StartedAt == nil || finished == 0 {
		return
	}
	end := now
	if j.FinishedAt != nil {
		end = *j.FinishedAt
	}
	if secs := end.Sub(*j.StartedAt).Seconds(); secs > 0 {
		j.ItemsPerSecond = float64(finished) / secs
		if left > 0 && j.State == JobRunning {
			eta := float64(left) / j.ItemsPerSecond
			j.ETASeconds = &eta
		}
	}
}

// OverBudget reports whether the job's spend reached its budget.
func (j *Job) OverBudget() bool {
	return (j.Options.MaxTokens > 0 && j.PromptTokens+j.CompletionTokens >= j.Options.MaxTokens) ||
		(j.Options.MaxCostUSD > 0 && j.CostUSD >= j.Options.MaxCostUSD)
}

// JobItem is one (catalogue row, shop) pair and its result.
type JobItem struct {
	ID       int64  `json:"-"`
	TenantID string `json:"-"`
	JobID    string `json:"job_id"`
	Row      int    `json:"row"`
	ShopID   string `json:"shop_id,omitempty"`
	// Product is the row as imported (its title may be empty for an
	// invalid row).
	Product          Product      `json:"product"`
	State            ItemState    `json:"state"`
	ListingID        string       `json:"listing_id,omitempty"`
	Error            string       `json:"error,omitempty"`
	Problems         []FieldError `json:"problems,omitempty"`
	Attempts         int          `json:"attempts"`
	PromptTokens     int64        `json:"prompt_tokens"`
	CompletionTokens int64        `json:"completion_tokens"`
	CostUSD          float64      `json:"cost_usd"`
	UpdatedAt        time.Time    `json:"updated_at"`
	// Recovered says why the item was last taken back from a worker that
	// stopped; empty when it never was.
	Recovered Recovery `json:"recovered,omitempty"`
	// Claim is the fence of the item's current claim: ClaimItem increments
	// it, and FinishItem and ReleaseItem write only under the claim they
	// were given, so that a worker that lost the item (taken back while it
	// was paused or cut off) cannot write a second result.
	Claim int64 `json:"-"`
	// Listing is filled when results are exported with their copy.
	Listing *Listing `json:"listing,omitempty"`
}

// JobFilter pages through a tenant's jobs, newest first.
type JobFilter struct {
	Cursor string
	Limit  int
	// WithoutCounts leaves Counts nil: counting reads every item of every
	// job on the page, which a list of choices (the queue's job filter)
	// need not pay for.
	WithoutCounts bool
}

// JobItemFilter pages through one job's items in (row, shop) order, the
// order of its results.
type JobItemFilter struct {
	// States keeps the items in one of these states; empty keeps every item.
	States []ItemState
	Cursor string
	Limit  int
}

// ItemCursorKey is an item's position for keyset pagination: its row and
// shop, which are unique within a job and are the results' order.
func (it *JobItem) ItemCursorKey() string { return strconv.Itoa(it.Row) + "/" + it.ShopID }

// DecodeItemCursor returns the (row, shop) position inside a cursor made
// from ItemCursorKey, (-1, "") for an empty cursor (before every item), or
// an EINVALID error naming the cursor field.
func DecodeItemCursor(cursor string) (row int, shop string, err error) {
	key, err := DecodeCursor(cursor)
	if err != nil || key == "" {
		return -1, "", err
	}
	r, shop, ok := strings.Cut(key, "/")
	row, cerr := strconv.Atoi(r)
	if !ok || cerr != nil || row < 0 {
		return 0, "", Invalid([]FieldError{{"cursor", "is not a cursor returned by this API"}})
	}
	return row, shop, nil
}

// EnqueueFunc puts work items on the queue inside the transaction that
// stores them (a *sql.Tx on SQLite, a pgx.Tx on PostgreSQL), so that a job
// and its queue entries commit or vanish together.
type EnqueueFunc func(ctx context.Context, tx any, itemIDs []int64) error

// JobStore keeps batch jobs and their items.
type JobStore interface {
	// CreateJob stores job and every item next returns (until it returns
	// nil) in one transaction, calling enqueue for each chunk of queued
	// items in that transaction. It fills job.ID, Items and CreatedAt.
	CreateJob(ctx context.Context, job *Job, next func() (*JobItem, error), enqueue EnqueueFunc) error
	// FindJob returns the job with its counts and spend.
	FindJob(ctx context.Context, tenantID, id string) (*Job, error)
	// FindJobs returns a page of the tenant's jobs, newest first, each
	// with its counts unless the filter says WithoutCounts.
	FindJobs(ctx context.Context, tenantID string, filter JobFilter) (Page[*Job], error)
	// FindJobItems returns a page of one of the tenant's jobs' items in
	// (row, shop) order, with their products; ENOTFOUND when the tenant
	// has no such job. It is how a client lists a job's per-item errors
	// without exporting every result.
	FindJobItems(ctx context.Context, tenantID, jobID string, filter JobItemFilter) (Page[*JobItem], error)
	// FindJobByKey returns the tenant's newest job with that Key.
	FindJobByKey(ctx context.Context, tenantID, key string) (*Job, error)
	// SetJobState moves a job from one of from to to; ECONFLICT if it is
	// in none of them. Cancelling also cancels its queued items; finishing
	// sets FinishedAt.
	SetJobState(ctx context.Context, tenantID, id string, from []JobState, to JobState) error
	// SetJobOptions replaces a job's options (a new budget before resuming).
	SetJobOptions(ctx context.Context, tenantID, id string, opts JobOptions) error
	// ClaimItem marks a queued or running item running for the worker
	// workerID, counts the attempt, starts a new claim (JobItem.Claim) and
	// returns the item with its job; ok is false when the item is already
	// final, which makes a duplicate delivery a no-op. Taking over a
	// running item (the queue delivered it again after its rescue delay)
	// records it as RecoveredRescued and fences the earlier claim out.
	ClaimItem(ctx context.Context, itemID int64, workerID string) (item *JobItem, job *Job, ok bool, err error)
	// FinishItem records the outcome of item's claim (state, listing,
	// error, tokens, cost) and adds its spend to the job. It writes only
	// while the item is running under item.Claim, so that a result is
	// written once; ECONFLICT when the claim was lost (the item was taken
	// back, or another claim finished it). It completes the job when no
	// item is left queued or running.
	FinishItem(ctx context.Context, item *JobItem) error
	// ReleaseItem puts item back to queued with the error of its failed
	// attempt (it will be retried), under item.Claim like FinishItem:
	// ECONFLICT when the claim was lost.
	ReleaseItem(ctx context.Context, item *JobItem, reason string) error
	// RenewLease records that worker w is alive for another d. The first
	// call creates its lease, and so does a call after the lease expired
	// and was removed: a process that was only paused carries on under the
	// same id (the items taken back meanwhile stay with their new holders).
	RenewLease(ctx context.Context, w WorkerLease, d time.Duration) error
	// EndLease expires the worker's lease at once (a clean stop), so that
	// the next ReclaimItems takes back any item it still holds.
	EndLease(ctx context.Context, workerID string) error
	// ReclaimItems puts the running items of stopped workers (scope) back
	// to queued, recording why (ReclaimScope.Reason) and counting it in
	// RecoveryStats, removes the stopped workers' leases and calls requeue
	// with both in the same transaction, so that the queue delivers the
	// items again at once. An item a live transaction still holds is left
	// for the next call. It returns how many items it took back.
	ReclaimItems(ctx context.Context, scope ReclaimScope, requeue ReclaimFunc) (int, error)
	// RecoveryStats counts the items ever taken back, by reason, and the
	// live worker leases, over every tenant: the operator's view of
	// crashes, exported as metrics.
	RecoveryStats(ctx context.Context) (RecoveryStats, error)
	// RequeueItems moves the job's items in one of states back to queued,
	// enqueueing them in the same transaction, and sets the job running.
	RequeueItems(ctx context.Context, tenantID, jobID string, states []ItemState, enqueue EnqueueFunc) (int, error)
	// JobItems calls fn for every item in (row, shop) order, reading in
	// pages so that a million items are never in memory together.
	JobItems(ctx context.Context, tenantID, jobID string, fn func(*JobItem) error) error
	// QueueStats counts the queued items of every tenant and says since
	// when the longest-waiting one has waited (zero when none): the
	// operator's queue depth and age, exported as metrics.
	QueueStats(ctx context.Context) (depth int64, oldest time.Time, err error)
}
