// Package usage books what model calls cost to the tenant, shop and job
// that caused them. The model client reports every call; the Ledger sums
// the reports in memory and adds them to the store's running totals every
// Interval, so that a catalogue run of thousands of calls a minute costs one
// small write a second instead of one per call.
package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/listinggen/listinggen"
)

// DefaultInterval bounds what a crash can lose from the ledger: the totals
// of at most this long (each listing's own provenance keeps its tokens).
const DefaultInterval = time.Second

type key struct {
	account   listinggen.UsageAccount
	day       time.Time
	model, op string
}

// Ledger sums calls and flushes the sums to a store.
type Ledger struct {
	store    listinggen.UsageService
	interval time.Duration
	logger   *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	pending map[key]*listinggen.UsageRecord

	flushMu sync.Mutex // one flush at a time, so a failed batch is put back before the next is taken
	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
}

// New starts a ledger that flushes to store every interval (DefaultInterval
// if zero or less) until Close.
func New(store listinggen.UsageService, interval time.Duration, logger *slog.Logger, now func() time.Time) *Ledger {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if now == nil {
		now = time.Now
	}
	l := &Ledger{store: store, interval: interval, logger: logger, now: now,
		pending: map[key]*listinggen.UsageRecord{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

// Add books one call to the account in ctx. A call made outside any account
// (none of the service's own paths do that) is booked to an empty tenant,
// where an operator can still find it, rather than dropped.
func (l *Ledger) Add(ctx context.Context, model, op string, promptTokens, completionTokens int, costUSD float64) {
	account, _ := listinggen.UsageAccountFrom(ctx)
	k := key{account: account, day: listinggen.UsageDay(l.now()), model: model, op: op}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.pending[k]
	if r == nil {
		r = &listinggen.UsageRecord{UsageAccount: account, Day: k.day, Model: model, Op: op}
		l.pending[k] = r
	}
	addTo(r, listinggen.UsageRecord{Calls: 1, PromptTokens: int64(promptTokens), CompletionTokens: int64(completionTokens), CostUSD: costUSD})
}

// addTo adds d's counts to r.
func addTo(r *listinggen.UsageRecord, d listinggen.UsageRecord) {
	r.Calls += d.Calls
	r.PromptTokens += d.PromptTokens
	r.CompletionTokens += d.CompletionTokens
	r.CostUSD += d.CostUSD
}

// Flush adds what was booked since the last flush to the store. On failure
// the records go back into the ledger, to be added by the next flush.
func (l *Ledger) Flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch := l.pending
	l.pending = map[key]*listinggen.UsageRecord{}
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	records := make([]listinggen.UsageRecord, 0, len(batch))
	for _, r := range batch {
		records = append(records, *r)
	}
	err := l.store.AddUsage(ctx, records)
	if err != nil {
		l.mu.Lock()
		for k, r := range batch {
			if cur := l.pending[k]; cur != nil {
				addTo(cur, *r)
			} else {
				l.pending[k] = r
			}
		}
		l.mu.Unlock()
	}
	return err
}

func (l *Ledger) loop() {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*l.interval)
			if err := l.Flush(ctx); err != nil {
				l.logger.Warn("usage ledger: flush failed; will retry", "err", err)
			}
			cancel()
		}
	}
}

// Close stops the flush loop and flushes what is left.
func (l *Ledger) Close(ctx context.Context) error {
	l.closed.Do(func() { close(l.stop) })
	<-l.done
	return l.Flush(ctx)
}
