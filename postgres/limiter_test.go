package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRateLimiterSharedByThreeProcesses opens three stores on one database
// (three connection pools, as three worker processes have), each calling
// as fast as its limiter lets it from four goroutines, and counts the calls
// in a window: together they must stay within 5% of the configured RPM.
func TestRateLimiterSharedByThreeProcesses(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	const rpm, window = 1200, 6 * time.Second
	var calls atomic.Int64
	var limiters []*RateLimiter
	for range 3 {
		l, err := openStore(t, cfg).RateLimiter("llm", rpm, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		limiters = append(limiters, l)
	}
	// Calls released inside the window count; a caller still waiting at
	// its end finishes its wait uncounted.
	end := time.Now().Add(window)
	var wg sync.WaitGroup
	for _, l := range limiters {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					if _, err := l.Wait(context.Background(), 100); err != nil {
						t.Error(err)
						return
					}
					if time.Now().Before(end) {
						calls.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	want := float64(rpm) * window.Minutes()
	got := float64(calls.Load())
	t.Logf("%d calls in %s, configured %.0f (ratio %.3f)", calls.Load(), window, want, got/want)
	if got > want*1.05 || got < want*0.95 {
		t.Errorf("%v calls, want %v ± 5%%", got, want)
	}
}

func TestRateLimiterTokens(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	if _, err := s.RateLimiter("x", -1, 0, 1); err == nil {
		t.Error("negative RPM accepted")
	}
	// 6000 TPM at 1000 tokens a call is 6 calls a minute: the second call
	// waits about 10 s, so a 2 s deadline cuts it off.
	l, _ := s.RateLimiter("tok", 0, 6000, 1)
	if d, err := l.Wait(context.Background(), 1000); err != nil || d > 100*time.Millisecond {
		t.Fatalf("first call waited %s, %v", d, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if d, err := l.Wait(ctx, 1000); err == nil || d < 9*time.Second {
		t.Errorf("second call: waited %s, %v; want about 10s and the deadline", d, err)
	}
}
