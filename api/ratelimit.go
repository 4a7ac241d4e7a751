package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
	"golang.org/x/time/rate"
)

// RateLimit is a token bucket per API key: PerSecond tokens refill the
// bucket, which holds at most Burst. Zero PerSecond turns limiting off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// keyLimiter holds one bucket per key and forgets idle ones, so that the
// map does not grow with every key ever seen.
type keyLimiter struct {
	cfg RateLimit
	now func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleAfter is how long an unused bucket is kept: by then it is full again,
// so forgetting it changes nothing.
func (k *keyLimiter) idleAfter() time.Duration {
	return time.Duration(float64(k.cfg.Burst)/k.cfg.PerSecond*float64(time.Second)) + time.Minute
}

func newKeyLimiter(cfg RateLimit, now func() time.Time) *keyLimiter {
	return &keyLimiter{cfg: cfg, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for id, or says how long until one is available.
func (k *keyLimiter) allow(id string) (bool, time.Duration) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) > time.Minute {
		for key, b := range k.buckets {
			if now.Sub(b.seen) > k.idleAfter() {
				delete(k.buckets, key)
			}
		}
		k.lastSweep = now
	}
	b := k.buckets[id]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(k.cfg.PerSecond), k.cfg.Burst)}
		k.buckets[id] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimit answers 429 with Retry-After (whole seconds, rounded up) when
// the request's key has no token left. Open-mode requests (no key) are not
// limited: that mode exists only on loopback, for one local user.
func (k *keyLimiter) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, _ := c.Get("api_key").(string)
		if id == "" || k.cfg.PerSecond <= 0 {
			return next(c)
		}
		ok, wait := k.allow(id)
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			return listinggen.Errorf(listinggen.ERATELIMIT, "rate limit of %g requests a second (burst %d) exceeded for this API key; retry after %d s",
				k.cfg.PerSecond, k.cfg.Burst, max(secs, 1))
		}
		return next(c)
	}
}
