package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/jobs"
	"github.com/listinggen/listinggen/postgres"
	"github.com/listinggen/listinggen/sqlite"
)

// queueFlags are the batch worker settings serve, worker and batch share.
type queueFlags struct {
	workers, maxAttempts, jobTimeout, rescueAfter, lease, heartbeat, retryBase, poll *string
}

func bindQueue(f *envflag.FlagSet, defWorkers string) queueFlags {
	d := jobs.DefaultConfig()
	return queueFlags{
		workers:     f.String("workers", "WORKERS", defWorkers, "batch items worked at once in this process (0: none, an API-only node)"),
		maxAttempts: f.String("job-max-attempts", "JOB_MAX_ATTEMPTS", strconv.Itoa(d.MaxAttempts), "attempts per batch item before it is failed with the reason"),
		jobTimeout:  f.String("job-timeout", "JOB_TIMEOUT", d.JobTimeout.String(), "time limit of one attempt at one item"),
		rescueAfter: f.String("job-rescue-after", "JOB_RESCUE_AFTER", d.RescueAfter.String(), "backstop: when an item still running is given to another worker whatever its lease says (longer than job-timeout and job-lease)"),
		lease:       f.String("job-lease", "JOB_LEASE", d.Lease.String(), "how long a worker process's hold on its items lasts without a heartbeat: a stopped worker's items run again after it (on PostgreSQL also how long a transaction may wait on its process, at least 10s)"),
		heartbeat:   f.String("job-heartbeat", "JOB_HEARTBEAT", d.Heartbeat.String(), "how often a worker renews its lease and takes back expired ones' items (at most half of job-lease)"),
		retryBase:   f.String("job-retry-base", "JOB_RETRY_BASE", d.RetryBase.String(), "first retry delay of a failed item; doubles each attempt (with jitter) up to 5m"),
		poll:        f.String("job-poll", "JOB_POLL", d.PollInterval.String(), "how often idle workers look for items"),
	}
}

func (q queueFlags) config(logger *slog.Logger) (jobs.Config, error) {
	cfg := jobs.DefaultConfig()
	cfg.Logger = logger
	var errs []error
	num := func(name, v string, dst *int) {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want a whole number, got %q", name, v))
		}
		*dst = n
	}
	dur := func(name, v string, dst *time.Duration) {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want a duration such as 30s, got %q", name, v))
		}
		*dst = d
	}
	num("workers", *q.workers, &cfg.Workers)
	num("job-max-attempts", *q.maxAttempts, &cfg.MaxAttempts)
	dur("job-timeout", *q.jobTimeout, &cfg.JobTimeout)
	dur("job-rescue-after", *q.rescueAfter, &cfg.RescueAfter)
	dur("job-lease", *q.lease, &cfg.Lease)
	dur("job-heartbeat", *q.heartbeat, &cfg.Heartbeat)
	dur("job-retry-base", *q.retryBase, &cfg.RetryBase)
	dur("job-poll", *q.poll, &cfg.PollInterval)
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// jobStore is a store that also keeps jobs: both stores are.
type jobStore interface {
	listinggen.Store
	listinggen.JobStore
}

// openJobs builds the queue on the store's own database (River's SQLite
// driver on the SQLite writer, riverpgxv5 on the PostgreSQL pool) and the
// job service over it.
func openJobs(store listinggen.Store, svc *services, cfg jobs.Config) (*jobs.Queue, *jobs.Service, error) {
	js, ok := store.(jobStore)
	if !ok {
		return nil, nil, fmt.Errorf("store %T does not keep jobs", store)
	}
	var w *jobs.Worker
	if cfg.Workers > 0 {
		w = jobs.NewWorker(js, svc.pipeline, cfg.Logger)
	}
	var q *jobs.Queue
	var err error
	switch s := store.(type) {
	case *sqlite.Store:
		q, err = jobs.NewSQLite(s.WriterDB(), s, cfg, w)
	case *postgres.Store:
		q, err = jobs.NewPostgres(s.Pool(), s, cfg, w)
	default:
		err = fmt.Errorf("no queue for store %T", store)
	}
	if err != nil {
		return nil, nil, err
	}
	return q, jobs.NewService(js, q, svc.estimator, time.Now), nil
}

// stopQueue lets items in progress finish for up to drain; the rest are
// retried by the next worker.
func stopQueue(q *jobs.Queue, drain time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		logger.Warn("workers stopped with items in progress; they will be retried", "err", err)
	}
}

// worker runs batch items only: any number of them on any number of
// machines share one PostgreSQL. On SQLite it is the data directory's one
// process, like serve and batch.
func worker(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := envflag.New("worker", getenv, stderr)
	common := bindCommon(f)
	queueFlags := bindQueue(f, "4")
	shutdownTimeout := f.String("shutdown-timeout", "SHUTDOWN_TIMEOUT", "30s", "how long items in progress may take to finish on shutdown")
	if err := f.Parse(args); err != nil {
		return err
	}
	logger, err := common.logger(stderr)
	if err != nil {
		return err
	}
	drain, err := parseDrain(*shutdownTimeout)
	if err != nil {
		return err
	}
	cfg, err := queueFlags.config(logger)
	if err != nil {
		return err
	}
	if cfg.Workers == 0 {
		return errors.New("workers: a worker process needs at least 1")
	}
	store, lock, err := common.openOwned(ctx, logger, cfg.Lease)
	if err != nil {
		return err
	}
	defer lock.Release()
	defer store.Close()
	svc, err := buildPipeline(store, *common.dataDir, getenv, logger, nil)
	if err != nil {
		return err
	}
	defer svc.close(logger) // after the workers stop: their last calls are booked
	queue, _, err := openJobs(store, svc, cfg)
	if err != nil {
		return err
	}
	if err := recoverAtStart(ctx, lock, queue, logger); err != nil {
		return err
	}
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	logger.Info("worker started", "workers", cfg.Workers, "worker_id", queue.WorkerID(), "lease", cfg.Lease)
	<-ctx.Done()
	logger.Info("worker stopping: finishing items in progress", "timeout", drain)
	stopQueue(queue, drain, logger)
	logger.Info("stopped")
	return nil
}
