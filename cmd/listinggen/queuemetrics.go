package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/metrics"
)

// storeReadTTL is how long /metrics keeps a store's answer: one scrape
// reads several series from one answer, and a burst of scrapes costs one
// query.
const storeReadTTL = 5 * time.Second

// storeRead keeps the last answer of a store query for storeReadTTL. A
// failed query keeps the previous answer: a gauge that dropped to zero
// while the database is unreachable would hide a growing queue, and a
// counter must never go down.
type storeRead[T any] struct {
	what   string
	query  func(context.Context) (T, error)
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	readAt time.Time
	last   T
}

func newStoreRead[T any](what string, query func(context.Context) (T, error), logger *slog.Logger) *storeRead[T] {
	return &storeRead[T]{what: what, query: query, logger: logger, now: time.Now}
}

func (r *storeRead[T]) get() T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.readAt) >= storeReadTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v, err := r.query(ctx)
		if err != nil {
			r.logger.Warn("metrics: reading "+r.what+" failed", "err", err)
			return r.last
		}
		r.readAt, r.last = now, v
	}
	return r.last
}

// queueStats is one answer of JobStore.QueueStats.
type queueStats struct {
	depth  int64
	oldest time.Time
}

// registerQueueGauges exports the job queue's depth and the age of its
// longest-waiting item.
func registerQueueGauges(m *metrics.Metrics, store listinggen.JobStore, logger *slog.Logger) {
	r := newStoreRead("the job queue", func(ctx context.Context) (queueStats, error) {
		depth, oldest, err := store.QueueStats(ctx)
		return queueStats{depth, oldest}, err
	}, logger)
	m.RegisterQueue(
		func() float64 { return float64(r.get().depth) },
		func() float64 {
			oldest := r.get().oldest
			if oldest.IsZero() {
				return 0
			}
			return r.now().Sub(oldest).Seconds()
		})
}

// registerRecoveryMetrics exports how many items were taken back from
// stopped workers, by reason, and how many workers hold a live lease.
func registerRecoveryMetrics(m *metrics.Metrics, store listinggen.JobStore, logger *slog.Logger) {
	r := newStoreRead("the recovery counts", func(ctx context.Context) (metrics.RecoveryStats, error) {
		st, err := store.RecoveryStats(ctx)
		if err != nil {
			return metrics.RecoveryStats{}, err
		}
		out := metrics.RecoveryStats{Recovered: make(map[string]float64, len(st.Recovered)), Workers: float64(st.Workers)}
		for reason, n := range st.Recovered {
			out.Recovered[string(reason)] = float64(n)
		}
		return out, nil
	}, logger)
	reasons := make([]string, len(listinggen.Recoveries))
	for i, reason := range listinggen.Recoveries {
		reasons[i] = string(reason)
	}
	m.RegisterRecovery(reasons, r.get)
}
