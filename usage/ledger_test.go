package usage_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/usage"
)

// memStore records AddUsage calls and can be told to fail.
type memStore struct {
	mu    sync.Mutex
	fail  bool
	added []listinggen.UsageRecord
	calls int
}

func (m *memStore) AddUsage(_ context.Context, rs []listinggen.UsageRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail {
		return errors.New("database is down")
	}
	m.added = append(m.added, rs...)
	return nil
}

func (m *memStore) UsageByShop(context.Context, string, listinggen.UsageFilter) ([]listinggen.UsageTotal, error) {
	return nil, nil
}

func (m *memStore) totals() (calls, prompt int64, cost float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.added {
		calls, prompt, cost = calls+r.Calls, prompt+r.PromptTokens, cost+r.CostUSD
	}
	return
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestCallsAreSummedPerAccountAndFlushed(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	l := usage.New(st, time.Hour, discard, nil) // only explicit flushes
	shop1 := listinggen.WithUsageAccount(context.Background(), listinggen.UsageAccount{TenantID: "t1", ShopID: "s1"})
	shop2 := listinggen.WithUsageAccount(context.Background(), listinggen.UsageAccount{TenantID: "t1", ShopID: "s2", JobID: "j"})
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(2)
		go func() { defer wg.Done(); l.Add(shop1, "m", "rewrite", 100, 20, 0.01) }()
		go func() { defer wg.Done(); l.Add(shop2, "m", "repair", 50, 10, 0.005) }()
	}
	wg.Wait()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(st.added) != 2 {
		t.Fatalf("flushed %d records, want one per account and op: %+v", len(st.added), st.added)
	}
	for _, r := range st.added {
		want := listinggen.UsageRecord{UsageAccount: listinggen.UsageAccount{TenantID: "t1", ShopID: "s1"}, Op: "rewrite", Calls: 100, PromptTokens: 10000, CompletionTokens: 2000}
		if r.ShopID == "s2" {
			want = listinggen.UsageRecord{UsageAccount: listinggen.UsageAccount{TenantID: "t1", ShopID: "s2", JobID: "j"}, Op: "repair", Calls: 100, PromptTokens: 5000, CompletionTokens: 1000}
		}
		if r.UsageAccount != want.UsageAccount || r.Op != want.Op || r.Calls != want.Calls || r.PromptTokens != want.PromptTokens ||
			r.CompletionTokens != want.CompletionTokens || r.Day.IsZero() || r.Model != "m" {
			t.Errorf("record %+v, want %+v", r, want)
		}
	}
	if err := l.Flush(context.Background()); err != nil || st.calls != 1 {
		t.Fatalf("an empty flush wrote to the store (calls %d, %v)", st.calls, err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAFailedFlushLosesNothing(t *testing.T) {
	t.Parallel()
	st := &memStore{fail: true}
	l := usage.New(st, time.Hour, discard, nil)
	ctx := listinggen.WithUsageAccount(context.Background(), listinggen.UsageAccount{TenantID: "t1", ShopID: "s1"})
	l.Add(ctx, "m", "rewrite", 100, 20, 0.25)
	if err := l.Flush(context.Background()); err == nil {
		t.Fatal("flush to a failing store reported success")
	}
	l.Add(ctx, "m", "rewrite", 100, 20, 0.25) // booked while the store was down
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls, prompt, cost := st.totals(); calls != 2 || prompt != 200 || cost != 0.5 {
		t.Fatalf("after recovery: %d calls, %d prompt tokens, $%v; want 2, 200, 0.5", calls, prompt, cost)
	}
}

func TestTheLoopFlushesByItself(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	l := usage.New(st, 10*time.Millisecond, discard, nil)
	defer l.Close(context.Background())
	l.Add(context.Background(), "m", "embed", 5, 0, 0) // no account: booked to the empty tenant
	deadline := time.Now().Add(5 * time.Second)
	for {
		if calls, _, _ := st.totals(); calls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ledger did not flush within 5 s at a 10 ms interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.added[0].TenantID != "" {
		t.Fatalf("a call without an account went to tenant %q", st.added[0].TenantID)
	}
}
