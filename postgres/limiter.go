package postgres

import (
	"context"
	"errors"
	"time"
)

// RateLimiter paces calls to a provider across every process that shares
// this database: one GCRA bucket for requests (RPM) and one for tokens
// (TPM), each a row of rate_buckets updated by one atomic statement. A
// call reserves its slot in both and sleeps until the later one, so N
// workers together send no faster than the limits, whatever N. Time is the
// database server's clock, so machines with skewed clocks agree.
type RateLimiter struct {
	s    *Store
	name string
	// reqInterval and tokInterval are the seconds one request and one
	// token cost (0: no limit); burst is the slack of each bucket, in
	// seconds: one request's interval, so timer jitter costs nothing.
	reqInterval, tokInterval float64
}

// RateLimiter returns the shared limiter named name pacing at headroom
// times rpm and tpm (0: no limit on that one).
func (s *Store) RateLimiter(name string, rpm, tpm int, headroom float64) (*RateLimiter, error) {
	if name == "" || rpm < 0 || tpm < 0 || headroom <= 0 || headroom > 1 {
		return nil, errors.New("postgres: RateLimiter needs a name, non-negative limits and headroom in (0, 1]")
	}
	l := &RateLimiter{s: s, name: name}
	if rpm > 0 {
		l.reqInterval = 60 / (float64(rpm) * headroom)
	}
	if tpm > 0 {
		l.tokInterval = 60 / (float64(tpm) * headroom)
	}
	return l, nil
}

// reserve takes cost seconds from the bucket and returns how long to wait
// for the reservation. The bucket's tat (when it is empty again) moves to
// max(tat, now - burst) + cost; the call may start at that minus cost.
const reserve = `
INSERT INTO rate_buckets AS b (name, tat) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (name) DO UPDATE SET
    tat = greatest(b.tat, clock_timestamp() - make_interval(secs => $3)) + make_interval(secs => $2)
RETURNING extract(epoch FROM (tat - make_interval(secs => $2) - clock_timestamp()))::float8`

// Wait reserves one request of tokens and sleeps until its turn.
func (l *RateLimiter) Wait(ctx context.Context, tokens int) (time.Duration, error) {
	var wait float64
	for _, b := range []struct {
		suffix string
		cost   float64
	}{{":rpm", l.reqInterval}, {":tpm", l.tokInterval * float64(tokens)}} {
		if b.cost == 0 {
			continue
		}
		var w float64
		if err := l.s.pool.QueryRow(ctx, reserve, l.name+b.suffix, b.cost, l.burst(b.cost)).Scan(&w); err != nil {
			return 0, translate(err)
		}
		wait = max(wait, w)
	}
	if wait <= 0 {
		return 0, nil
	}
	d := time.Duration(wait * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, nil
	case <-ctx.Done():
		return d, ctx.Err()
	}
}

// burst is one request's worth of slack: a bucket that fell idle does not
// bank more than that, so a minute never sees more than limit + 1 request.
func (l *RateLimiter) burst(cost float64) float64 {
	if l.reqInterval > 0 {
		return l.reqInterval
	}
	return cost
}
