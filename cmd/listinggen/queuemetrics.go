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
