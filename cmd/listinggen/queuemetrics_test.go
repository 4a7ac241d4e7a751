package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// A store read is kept for storeReadTTL, and a failed read keeps the last
// answer instead of dropping to zero.
func TestStoreReadKeepsItsAnswer(t *testing.T) {
	t.Parallel()
	calls, answer := 0, 7
	var fail error
	r := newStoreRead("a count", func(context.Context) (int, error) {
		calls++
		return answer, fail
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	if got := r.get(); got != 7 || calls != 1 {
		t.Fatalf("first read = %d after %d queries", got, calls)
	}
	answer = 9
	if got := r.get(); got != 7 || calls != 1 {
		t.Fatalf("read within the TTL = %d after %d queries, want the kept 7 and no query", got, calls)
	}
	now = now.Add(storeReadTTL)
	if got := r.get(); got != 9 || calls != 2 {
		t.Fatalf("read after the TTL = %d after %d queries", got, calls)
	}
	now, answer, fail = now.Add(storeReadTTL), 0, errors.New("database down")
	if got := r.get(); got != 9 || calls != 3 {
		t.Fatalf("failed read = %d after %d queries, want the last answer 9", got, calls)
	}
}
