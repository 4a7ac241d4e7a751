// Package jobs runs catalogue batch jobs on River: one River job per
// (product, shop) item, inserted in the transaction that records the job,
// worked by the same pipeline as POST /v1/generate. The items' results live
// in the store (listinggen.JobStore), one row per item, so that a River job
// delivered twice (after a crash, a rescue or a retry) writes its result
// once: ClaimItem refuses an item that is already final, and a result is
// written only under the claim that produced it.
//
// Each process that works items keeps a lease in the store alive (a
// heartbeat every Config.Heartbeat) and, on the same beat, takes back the
// items of workers whose lease expired: a crashed or killed worker's items
// run again within a lease, not after River's rescue delay, which stays as
// the backstop for a worker that is alive but stuck.
package jobs

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/listinggen/listinggen"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// ItemArgs is the River job of one item: only its id, so that the queue
// stays small and the item's state has one home (the store).
type ItemArgs struct {
	ItemID int64 `json:"item_id"`
}

// Kind names the job kind in River's table.
func (ItemArgs) Kind() string { return "listinggen_item" }

// Config tunes the queue and its workers.
type Config struct {
	// Workers is how many items this process works at once (0: insert
	// only, for API-only nodes).
	Workers int
	// MaxAttempts per item before it is discarded as failed with the reason.
	MaxAttempts int
	// JobTimeout bounds one attempt. RescueAfter is River's backstop: when
	// an item still running is delivered again, whatever its worker's lease
	// says (must exceed JobTimeout and Lease).
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// Lease is how long a worker process's hold on its items lasts without
	// a heartbeat; Heartbeat is how often the process renews it and looks
	// for expired leases to take back (at most half the lease, so that one
	// late beat does not lose it). A stopped worker's items run again
	// within Lease + Heartbeat.
	Lease, Heartbeat time.Duration
	// RetryBase is the first retry's delay; each next one doubles (with
	// ±25% jitter) up to RetryMax.
	RetryBase, RetryMax time.Duration
	// PollInterval is how often a worker looks for new items when no
	// notification arrives (SQLite has no LISTEN/NOTIFY).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// DefaultConfig returns the settings `listinggen serve` and `worker` use.
func DefaultConfig() Config {
	return Config{Workers: 4, MaxAttempts: 5, JobTimeout: 5 * time.Minute, RescueAfter: 10 * time.Minute,
		Lease: 15 * time.Second, Heartbeat: 5 * time.Second,
		RetryBase: 5 * time.Second, RetryMax: 5 * time.Minute, PollInterval: time.Second}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 0 || c.Workers > 10_000 {
		errs = append(errs, errors.New("jobs: Workers must be in [0, 10000]"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("jobs: MaxAttempts must be at least 1"))
	}
	if c.JobTimeout <= 0 || c.RescueAfter <= c.JobTimeout {
		errs = append(errs, errors.New("jobs: JobTimeout must be positive and RescueAfter longer than it"))
	}
	if c.Heartbeat <= 0 || c.Lease < 2*c.Heartbeat {
		errs = append(errs, errors.New("jobs: Heartbeat must be positive and Lease at least twice as long"))
	}
	if c.RescueAfter <= c.Lease {
		errs = append(errs, errors.New("jobs: RescueAfter (the backstop) must be longer than Lease"))
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, errors.New("jobs: RetryBase must be positive and RetryMax at least RetryBase"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("jobs: PollInterval must be positive"))
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("jobs: Logger is required"))
	}
	return errors.Join(errs...)
}

// retryPolicy is exponential backoff with jitter: a provider outage of a
// minute is outlived by the default five attempts.
type retryPolicy struct{ base, max time.Duration }

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	d := p.base << min(len(job.Errors), 20)
	if d <= 0 || d > p.max {
		d = p.max
	}
	d = time.Duration(float64(d) * (0.75 + rand.Float64()/2))
	return time.Now().Add(d)
}

// Queue inserts items and, with Workers > 0, works them in this process
// under a worker lease.
type Queue struct {
	enqueue func(ctx context.Context, tx any, ids []int64) error
	// requeue enqueues taken-back items again and cancels the River jobs
	// of stopped deliveries (every running one with all).
	requeue func(ctx context.Context, tx any, items []int64, workers []string, all bool) error
	start   func(ctx context.Context) error
	stop    func(ctx context.Context) error
	workers int
	store   listinggen.JobStore
	lease   listinggen.WorkerLease
	cfg     Config

	mu         sync.Mutex
	stopKeeper context.CancelFunc
	keeperDone chan struct{}
}

// Enqueue inserts one River job per item id inside tx (the store's
// transaction); it is a listinggen.EnqueueFunc.
func (q *Queue) Enqueue(ctx context.Context, tx any, ids []int64) error {
	return q.enqueue(ctx, tx, ids)
}

// WorkerID is the id of this process's worker lease, which its items and
// River's attempted_by record.
func (q *Queue) WorkerID() string { return q.lease.ID }

// Start takes the worker lease, takes back the items of workers whose
// lease has expired, and starts the heartbeat and the workers (no-op for
// an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if q.workers == 0 {
		return nil
	}
	if err := q.store.RenewLease(ctx, q.lease, q.cfg.Lease); err != nil {
		return fmt.Errorf("jobs: worker lease: %w", err)
	}
	// A worker that joins takes over a stopped one's items at once.
	if _, err := q.reclaim(ctx, listinggen.ReclaimExpired); err != nil {
		q.cfg.Logger.Warn("jobs: taking back stopped workers' items failed; the next heartbeat tries again", "err", err)
	}
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go q.keep(kctx, done)
	if err := q.start(ctx); err != nil {
		cancel()
		<-done
		return err
	}
	q.mu.Lock()
	q.stopKeeper, q.keeperDone = cancel, done
	q.mu.Unlock()
	return nil
}

// Stop waits for items in progress to finish, up to ctx's deadline, then
// ends the lease and takes back at once what this process still holds:
// the items it cut off run again in another worker without waiting for
// the lease to expire.
func (q *Queue) Stop(ctx context.Context) error {
	if q.workers == 0 {
		return nil
	}
	err := q.stop(ctx)
	q.mu.Lock()
	cancel, done := q.stopKeeper, q.keeperDone
	q.stopKeeper, q.keeperDone = nil, nil
	q.mu.Unlock()
	if cancel == nil {
		return err
	}
	cancel()
	<-done
	ectx, ecancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ecancel()
	if lerr := q.store.EndLease(ectx, q.lease.ID); lerr != nil {
		q.cfg.Logger.Warn("jobs: ending the worker lease failed; it expires by itself", "err", lerr)
		return err
	}
	if _, rerr := q.reclaim(ectx, listinggen.ReclaimExpired); rerr != nil {
		q.cfg.Logger.Warn("jobs: taking back this worker's items failed; another worker will", "err", rerr)
	}
	return err
}

// RecoverAtStart takes back every item a stopped process left running and
// re-enqueues it, with every River job left running, at once: the items
// run again now rather than after the rescue delay. Only the embedded
// store's owner may call it, before Start: it holds the data directory's
// lock, so any process that ran items before it has stopped.
func (q *Queue) RecoverAtStart(ctx context.Context) (int, error) {
	return q.reclaim(ctx, listinggen.ReclaimAll)
}

// keep renews the lease and takes back stopped workers' items every
// Heartbeat until ctx ends.
func (q *Queue) keep(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(q.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Each step is bounded by a beat, so that a database that hangs
		// delays the next beat rather than stopping them.
		bctx, cancel := context.WithTimeout(ctx, q.cfg.Heartbeat)
		if err := q.store.RenewLease(bctx, q.lease, q.cfg.Lease); err != nil && ctx.Err() == nil {
			q.cfg.Logger.Warn("jobs: renewing the worker lease failed", "worker", q.lease.ID, "lease", q.cfg.Lease, "err", err)
		}
		if _, err := q.reclaim(bctx, listinggen.ReclaimExpired); err != nil && ctx.Err() == nil {
			q.cfg.Logger.Warn("jobs: taking back stopped workers' items failed", "err", err)
		}
		cancel()
	}
}

// reclaim takes back the items scope names and logs what it took.
func (q *Queue) reclaim(ctx context.Context, scope listinggen.ReclaimScope) (int, error) {
	all := scope == listinggen.ReclaimAll
	n, err := q.store.ReclaimItems(ctx, scope, func(ctx context.Context, tx any, items []int64, workers []string) error {
		return q.requeue(ctx, tx, items, workers, all)
	})
	if n > 0 {
		q.cfg.Logger.Warn("jobs: took back items from a stopped worker; they run again now", "items", n, "reason", scope.Reason())
	}
	return n, err
}

// newLease names this process's worker: host, pid and a random suffix,
// within River's 100-character client id.
func newLease() listinggen.WorkerLease {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown"
	}
	var b [4]byte
	_, _ = crand.Read(b[:])
	pid := os.Getpid()
	id := fmt.Sprintf("%.80s-%d-%s", host, pid, hex.EncodeToString(b[:]))
	return listinggen.WorkerLease{ID: id, Host: host, PID: pid}
}

// staleDeliveries cancels, inside tx, the River jobs left running by
// stopped deliveries: those of the taken-back items, those last attempted
// by the stopped workers (fetched but not yet claimed), or every running
// one with all. It returns their item ids, which are enqueued again in new
// River jobs: a cancelled job cannot be completed or retried by a worker
// that wakes up late, so that the new job is the item's only delivery.
type staleDeliveries[TTx any] func(ctx context.Context, tx TTx, items []int64, workers []string, all bool) ([]int64, error)

func newQueue[TTx any](driver riverdriver.Driver[TTx], store listinggen.JobStore, cfg Config, w *Worker, stale staleDeliveries[TTx]) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("jobs: a queue needs the store")
	}
	lease := newLease()
	rc := &river.Config{
		// River records the client id in attempted_by: as the lease id, it
		// names the worker whose fetched deliveries a reclaim cancels.
		ID:     lease.ID,
		Logger: cfg.Logger,
		// One attempt more than the worker makes: River's rescuer discards
		// a job whose last attempt died with its process without running
		// the worker, which would leave the item running for ever; the
		// extra attempt reaches the worker, which fails the item instead.
		MaxAttempts:          cfg.MaxAttempts + 1,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          retryPolicy{cfg.RetryBase, cfg.RetryMax},
		FetchPollInterval:    cfg.PollInterval,
		// A short cooldown: a worker that finishes a batch fetches the
		// next at once instead of waiting for the poll.
		FetchCooldown: min(cfg.PollInterval, 5*time.Millisecond),
	}
	if w != nil {
		w.maxAttempts, w.workerID, w.snooze = cfg.MaxAttempts, lease.ID, cfg.RescueAfter
	}
	if cfg.Workers > 0 {
		if w == nil {
			return nil, errors.New("jobs: a queue with workers needs a Worker")
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	insert := func(ctx context.Context, t TTx, ids []int64) error {
		params := make([]river.InsertManyParams, len(ids))
		for i, id := range ids {
			params[i] = river.InsertManyParams{Args: ItemArgs{ItemID: id}}
		}
		_, err := client.InsertManyFastTx(ctx, t, params)
		return err
	}
	txOf := func(tx any) (TTx, error) {
		t, ok := tx.(TTx)
		if !ok {
			return t, fmt.Errorf("jobs: transaction is %T, the queue's driver needs %T", tx, *new(TTx))
		}
		return t, nil
	}
	return &Queue{
		workers: cfg.Workers,
		store:   store,
		lease:   lease,
		cfg:     cfg,
		start:   client.Start,
		stop:    client.Stop,
		enqueue: func(ctx context.Context, tx any, ids []int64) error {
			t, err := txOf(tx)
			if err != nil {
				return err
			}
			return insert(ctx, t, ids)
		},
		requeue: func(ctx context.Context, tx any, items []int64, workers []string, all bool) error {
			t, err := txOf(tx)
			if err != nil {
				return err
			}
			cancelled, err := stale(ctx, t, items, workers, all)
			if err != nil {
				return fmt.Errorf("jobs: cancelling stopped deliveries: %w", err)
			}
			ids := append(slices.Clone(items), cancelled...)
			slices.Sort(ids)
			if ids = slices.Compact(ids); len(ids) == 0 {
				return nil
			}
			return insert(ctx, t, ids)
		},
	}, nil
}

// NewSQLite is the embedded queue on the SQLite store's writer pool (see
// sqlite.Store.WriterDB).
func NewSQLite(db *sql.DB, store listinggen.JobStore, cfg Config, w *Worker) (*Queue, error) {
	return newQueue(riversqlite.New(db), store, cfg, w, staleSQLite)
}

// NewPostgres is the shared queue on PostgreSQL: any number of processes
// on any number of machines work the same items.
func NewPostgres(pool *pgxpool.Pool, store listinggen.JobStore, cfg Config, w *Worker) (*Queue, error) {
	return newQueue[pgx.Tx](riverpgxv5.New(pool), store, cfg, w, stalePostgres)
}

// staleSQLite is staleDeliveries on River's SQLite schema (JSON in blobs,
// finalized_at in River's own datetime format).
func staleSQLite(ctx context.Context, tx *sql.Tx, items []int64, workers []string, all bool) ([]int64, error) {
	itemsJSON, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	workersJSON, err := json.Marshal(workers)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = datetime('now', 'subsec')
		WHERE state = 'running' AND kind = ? AND (? OR json_extract(args, '$.item_id') IN (SELECT value FROM json_each(?))
			OR json_extract(attempted_by, '$[#-1]') IN (SELECT value FROM json_each(?)))
		RETURNING json_extract(args, '$.item_id')`, ItemArgs{}.Kind(), all, string(itemsJSON), string(workersJSON))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// stalePostgres is staleDeliveries on River's PostgreSQL schema.
func stalePostgres(ctx context.Context, tx pgx.Tx, items []int64, workers []string, all bool) ([]int64, error) {
	rows, err := tx.Query(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = now()
		WHERE state = 'running' AND kind = $1 AND ($2 OR (args->>'item_id')::bigint = ANY($3)
			OR attempted_by[array_upper(attempted_by, 1)] = ANY($4))
		RETURNING (args->>'item_id')::bigint`, ItemArgs{}.Kind(), all, append([]int64{}, items...), append([]string{}, workers...))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// MigrateSQLite creates or upgrades River's tables. River's migrations are
// run here, from cmd after the store's own, rather than copied into the
// store's numbered files: River versions its schema itself (river_migration
// table), and the stores do not import River.
func MigrateSQLite(ctx context.Context, db *sql.DB) error {
	return migrate(ctx, riversqlite.New(db))
}

// riverMigrationLock is the advisory lock key that serialises River's
// migrations across processes starting at once ("lgriver" in ASCII);
// River's migrator takes none, and two concurrent first runs collide on
// CREATE TABLE river_migration.
const riverMigrationLock int64 = 0x6c67726976657200

// MigratePostgres is MigrateSQLite for PostgreSQL, under an advisory lock
// held on a connection of its own.
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, riverMigrationLock); err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, riverMigrationLock)
	return migrate[pgx.Tx](ctx, riverpgxv5.New(pool))
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	return nil
}

// errStore is the subset of listinggen errors a worker treats as permanent.
func permanent(err error) bool {
	switch listinggen.ErrorCode(err) {
	case listinggen.EINVALID, listinggen.ENOTFOUND, listinggen.EFORBIDDEN:
		return true
	}
	return false
}
