// Package jobs runs catalogue batch jobs on River: one River job per
// (product, shop) item, inserted in the transaction that records the job,
// worked by the same pipeline as POST /v1/generate. The items' results live
// in the store (listinggen.JobStore), one row per item, so that a River job
// delivered twice (after a crash, a rescue or a retry) writes its result
// once: ClaimItem refuses an item that is already final.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// JobTimeout bounds one attempt; RescueAfter is when a running item
	// whose process died is given to another worker (must exceed JobTimeout).
	JobTimeout  time.Duration
	RescueAfter time.Duration
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

// Queue inserts items and, with Workers > 0, works them in this process.
type Queue struct {
	enqueue func(ctx context.Context, tx any, ids []int64) error
	start   func(ctx context.Context) error
	stop    func(ctx context.Context) error
	workers int
}

// Enqueue inserts one River job per item id inside tx (the store's
// transaction); it is a listinggen.EnqueueFunc.
func (q *Queue) Enqueue(ctx context.Context, tx any, ids []int64) error {
	return q.enqueue(ctx, tx, ids)
}

// Start starts the workers (no-op for an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if q.workers == 0 {
		return nil
	}
	return q.start(ctx)
}

// Stop waits for items in progress to finish, up to ctx's deadline; items
// it cuts off are retried by the next worker.
func (q *Queue) Stop(ctx context.Context) error {
	if q.workers == 0 {
		return nil
	}
	return q.stop(ctx)
}

func newQueue[TTx any](driver riverdriver.Driver[TTx], cfg Config, w *Worker) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc := &river.Config{
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
		w.maxAttempts = cfg.MaxAttempts
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
	return &Queue{
		workers: cfg.Workers,
		start:   client.Start,
		stop:    client.Stop,
		enqueue: func(ctx context.Context, tx any, ids []int64) error {
			t, ok := tx.(TTx)
			if !ok {
				return fmt.Errorf("jobs: transaction is %T, the queue's driver needs %T", tx, *new(TTx))
			}
			params := make([]river.InsertManyParams, len(ids))
			for i, id := range ids {
				params[i] = river.InsertManyParams{Args: ItemArgs{ItemID: id}}
			}
			_, err := client.InsertManyFastTx(ctx, t, params)
			return err
		},
	}, nil
}

// NewSQLite is the embedded queue on the SQLite store's writer pool (see
// sqlite.Store.WriterDB).
func NewSQLite(db *sql.DB, cfg Config, w *Worker) (*Queue, error) {
	return newQueue(riversqlite.New(db), cfg, w)
}

// NewPostgres is the shared queue on PostgreSQL: any number of processes
// on any number of machines work the same items.
func NewPostgres(pool *pgxpool.Pool, cfg Config, w *Worker) (*Queue, error) {
	return newQueue[pgx.Tx](riverpgxv5.New(pool), cfg, w)
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

// RescueRunningSQLite makes every item River holds as running available
// again, at once: what River's rescuer does after RescueAfter. Only a
// process that knows it is the embedded store's only worker may call it
// (the batch command when it resumes after a crash); River keeps no other
// handle on a job whose process died, and a job that was only fetched, its
// item still queued, would otherwise wait the whole rescue delay.
func RescueRunningSQLite(ctx context.Context, db *sql.DB) (int64, error) {
	res, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running' AND kind = ?`, ItemArgs{}.Kind())
	if err != nil {
		return 0, fmt.Errorf("jobs: rescue: %w", err)
	}
	return res.RowsAffected()
}
