package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/dirlock"
	"github.com/listinggen/listinggen/jobs"
)

// openOwned opens the store for a command that works the queue (serve,
// worker, batch). On the embedded store it first locks the data directory
// (lock is nil on PostgreSQL, which many processes share), so that the
// process is the directory's only one: a second one is refused, naming the
// directory and the holder's pid, and at start every item still running
// is known to belong to a process that stopped (see recoverAtStart). keys
// and migrate do not take the lock: SQLite serialises their writes with
// the owner's. Release the lock after closing the store.
//
// On PostgreSQL a transaction left waiting on this process for longer
// than its lease (the process was paused mid-transaction) is ended by the
// server: by then the other workers have taken its items back, and its
// row locks would block their claims until it woke.
func (c commonConfig) openOwned(ctx context.Context, logger *slog.Logger, lease time.Duration) (listinggen.Store, *dirlock.Lock, error) {
	c.pgIdleInTx = max(lease, minIdleInTx)
	var lock *dirlock.Lock
	if *c.databaseURL == "" {
		if err := os.MkdirAll(*c.dataDir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("data-dir: %w", err)
		}
		var err error
		if lock, err = dirlock.Acquire(*c.dataDir); err != nil {
			return nil, nil, err
		}
	}
	s, err := c.openStore(ctx, logger)
	if err != nil {
		lock.Release()
		return nil, nil, err
	}
	return s, lock, nil
}

// minIdleInTx keeps a short test lease from ending transactions that
// are only slow.
const minIdleInTx = 10 * time.Second

// recoverAtStart takes back, before the workers start, the items a
// stopped process left running in the embedded store: holding the data
// directory's lock, this process knows there is no other. On PostgreSQL
// (no lock) the workers' leases do it instead.
func recoverAtStart(ctx context.Context, lock *dirlock.Lock, q *jobs.Queue, logger *slog.Logger) error {
	if lock == nil {
		return nil
	}
	n, err := q.RecoverAtStart(ctx)
	if err != nil {
		return fmt.Errorf("taking back the items a stopped process left running: %w", err)
	}
	if n > 0 {
		logger.Warn("took back items a stopped process left running; they run again now", "items", n, "data_dir", lock.Dir())
	}
	return nil
}
