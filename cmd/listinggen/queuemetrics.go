package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/listinggen/listinggen/metrics"

	"github.com/listinggen/listinggen"
)

// queueGauges reads the job queue's depth and age for /metrics. One scrape
// reads both gauges, so the store's answer is kept for a few seconds: one
// query per scrape, not two, and none at all for a burst of scrapes.
type queueGauges struct {
	store  listinggen.JobStore
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	readAt time.Time
	depth  int64
	oldest time.Time
}

const queueGaugeTTL = 5 * time.Second

func registerQueueGauges(m *metrics.Metrics, store listinggen.JobStore, logger *slog.Logger) {
	g := &queueGauges{store: store, logger: logger, now: time.Now}
	m.RegisterQueue(
		func() float64 { d, _ := g.read(); return float64(d) },
		func() float64 {
			_, oldest := g.read()
			if oldest.IsZero() {
				return 0
			}
			return g.now().Sub(oldest).Seconds()
		})
}

func (g *queueGauges) read() (int64, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := g.now(); now.Sub(g.readAt) >= queueGaugeTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		depth, oldest, err := g.store.QueueStats(ctx)
		if err != nil {
			// Keep the last answer: a gauge that drops to zero while the
			// database is unreachable would hide a growing queue.
			g.logger.Warn("metrics: reading the job queue failed", "err", err)
			return g.depth, g.oldest
		}
		g.readAt, g.depth, g.oldest = now, depth, oldest
	}
	return g.depth, g.oldest
}

// recoveryGauges reads the store's recovery counts for /metrics, kept for
// a few seconds like the queue's: the counter and the gauge of one scrape
// share one read.
type recoveryGauges struct {
	store  listinggen.JobStore
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	readAt time.Time
	stats  metrics.RecoveryStats
}

func registerRecoveryMetrics(m *metrics.Metrics, store listinggen.JobStore, logger *slog.Logger) {
	g := &recoveryGauges{store: store, logger: logger, now: time.Now}
	reasons := make([]string, len(listinggen.Recoveries))
	for i, r := range listinggen.Recoveries {
		reasons[i] = string(r)
	}
	m.RegisterRecovery(reasons, g.read)
}

func (g *recoveryGauges) read() metrics.RecoveryStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := g.now(); now.Sub(g.readAt) >= queueGaugeTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := g.store.RecoveryStats(ctx)
		if err != nil {
			// Keep the last answer: a counter must not drop to zero.
			g.logger.Warn("metrics: reading the recovery counts failed", "err", err)
			return g.stats
		}
		out := metrics.RecoveryStats{Recovered: make(map[string]float64, len(st.Recovered)), Workers: float64(st.Workers)}
		for r, n := range st.Recovered {
			out.Recovered[string(r)] = float64(n)
		}
		g.readAt, g.stats = now, out
	}
	return g.stats
}
