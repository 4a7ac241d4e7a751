package openai

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ---- header capture ----

// go-openai returns *APIError without the response headers, so the
// transport records the status and the retry hints of each attempt into a
// capture carried by the request's context.
type capture struct {
	mu         sync.Mutex
	sent       bool // a request reached the transport
	status     int
	retryAfter time.Duration
}

type captureKey struct{}

func withCapture(ctx context.Context, c *capture) context.Context {
	return context.WithValue(ctx, captureKey{}, c)
}

func (c *capture) get() (int, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.retryAfter
}

type captureTransport struct{ base http.RoundTripper }

func (t captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, ok := req.Context().Value(captureKey{}).(*capture)
	if ok {
		c.mu.Lock()
		c.sent = true
		c.mu.Unlock()
	}
	resp, err := t.base.RoundTrip(req)
	if ok && resp != nil {
		c.mu.Lock()
		c.status = resp.StatusCode
		c.retryAfter = RetryAfter(resp.Header, time.Now())
		c.mu.Unlock()
	}
	return resp, err
}

func (c *capture) wasSent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// RetryAfter reads how long a provider asks to wait: retry-after-ms
// (OpenAI, milliseconds), Retry-After (seconds or an HTTP date), or else the
// longer of x-ratelimit-reset-requests and x-ratelimit-reset-tokens
// (durations such as "1s" or "6m0s"). It returns 0 when there is no hint.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	var d time.Duration
	for _, k := range []string{"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"} {
		if v, err := time.ParseDuration(strings.TrimSpace(h.Get(k))); err == nil && v > d {
			d = v
		}
	}
	return d
}

// ---- rate limiter ----

// limiter paces calls below the provider's requests- and tokens-per-minute
// limits. Callers pass a gate one at a time, each released when the
// schedule allows: one request interval after the previous release, and
// after the tokens released so far have drained at the token rate. Booking
// slots in advance instead would let callers that wake late (a busy CPU, a
// cold connection pool) all fire at once and arrive as a burst, which a
// provider's sliding window answers with 429s. The schedule keeps its own
// time (a caller released a little late does not delay the next) within a
// tolerance of half an interval, so timer jitter costs no throughput and
// the largest burst is 1.5 intervals' worth. Token counts are estimated
// before the call and corrected from the reported usage after. A 429 with
// Retry-After pauses every caller.
type limiter struct {
	gate        chan struct{} // held by the one caller waiting for its turn
	mu          sync.Mutex
	now         func() time.Time
	reqInterval time.Duration // 0: no request limit
	tokPerSec   float64       // 0: no token limit
	nextReq     time.Time     // when the next request is due
	tokFree     time.Time     // when the tokens released so far have drained
	pausedUntil time.Time
	// completion is the running estimate of completion tokens per call.
	completion float64
}

func newLimiter(l Limits, now func() time.Time, completionGuess int) *limiter {
	lim := &limiter{gate: make(chan struct{}, 1), now: now, completion: float64(completionGuess)}
	if l.RPM > 0 {
		lim.reqInterval = time.Duration(float64(time.Minute) / (float64(l.RPM) * l.Headroom))
	}
	if l.TPM > 0 {
		lim.tokPerSec = float64(l.TPM) * l.Headroom / 60
	}
	return lim
}

// expectedCompletion is the current estimate of a call's completion tokens.
func (l *limiter) expectedCompletion() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(math.Ceil(l.completion))
}

// next is the earliest release time for a call of tokens at the gate.
func (l *limiter) next(tokens int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.pausedUntil
	if l.reqInterval > 0 {
		if u := l.nextReq.Add(-l.reqInterval / 2); u.After(t) {
			t = u
		}
	}
	if l.tokPerSec > 0 {
		if u := l.tokFree.Add(-l.drain(tokens) / 2); u.After(t) {
			t = u
		}
	}
	return t
}

func (l *limiter) drain(tokens int) time.Duration {
	return time.Duration(float64(tokens) / l.tokPerSec * float64(time.Second))
}

// release records a call of tokens released now.
func (l *limiter) release(tokens int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.reqInterval > 0 {
		if l.nextReq.Before(now) {
			l.nextReq = now
		}
		l.nextReq = l.nextReq.Add(l.reqInterval)
	}
	if l.tokPerSec > 0 {
		if l.tokFree.Before(now) {
			l.tokFree = now
		}
		l.tokFree = l.tokFree.Add(l.drain(tokens))
	}
}

// wait blocks until the call may be sent and returns how long it waited.
func (l *limiter) wait(ctx context.Context, tokens int) (time.Duration, error) {
	start := l.now()
	if l.reqInterval == 0 && l.tokPerSec == 0 && !l.next(tokens).After(start) {
		return 0, ctx.Err() // no limits and no pause
	}
	select {
	case l.gate <- struct{}{}:
	case <-ctx.Done():
		return l.now().Sub(start), ctx.Err()
	}
	defer func() { <-l.gate }()
	for {
		// Re-read after each sleep: a 429 may have paused everyone.
		d := l.next(tokens).Sub(l.now())
		if d <= 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return l.now().Sub(start), err
		}
	}
	l.release(tokens)
	return l.now().Sub(start), nil
}

// correct adjusts the token schedule by the difference between a call's
// estimated and reported tokens, and learns the completion size.
func (l *limiter) correct(estimated, actual, completion int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tokPerSec > 0 && actual > 0 {
		l.tokFree = l.tokFree.Add(time.Duration(float64(actual-estimated) / l.tokPerSec * float64(time.Second)))
	}
	if completion > 0 {
		l.completion = 0.8*l.completion + 0.2*float64(completion)
	}
}

// pause holds every caller back for d (a 429's Retry-After).
func (l *limiter) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// ---- circuit breaker ----

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen
)

func (s breakerState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

// breaker opens after threshold consecutive failed attempts; while open
// calls fail at once; after cooldown one probe is let through, whose
// success closes it and whose failure opens it again.
type breaker struct {
	mu        sync.Mutex
	now       func() time.Time
	threshold int
	cooldown  time.Duration
	state     breakerState
	failures  int
	openedAt  time.Time
	probing   bool
	opened    int // times opened, for stats
}

type outcome int

const (
	success outcome = iota // the provider answered (any 2xx, 4xx, or 429)
	failure                // 5xx, timeout, transport error
	neutral                // the caller gave up: says nothing about the provider
)

// allow says whether a call may be sent now; probe marks the half-open
// probe, whose outcome must be reported.
func (b *breaker) allow() (probe bool, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case open:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return false, false
		}
		b.state, b.probing = halfOpen, true
		return true, true
	case halfOpen:
		if b.probing {
			return false, false
		}
		b.probing = true
		return true, true
	}
	return false, true
}

func (b *breaker) record(probe bool, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch o {
	case success:
		b.state, b.failures = closed, 0
	case failure:
		b.failures++
		if probe || b.state == closed && b.failures >= b.threshold {
			b.state, b.openedAt = open, b.now()
			b.opened++
		}
	}
}

func (b *breaker) snapshot() (breakerState, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.opened
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
