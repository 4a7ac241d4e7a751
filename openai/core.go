package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/listinggen/listinggen"
)

// Stats are a Rewriter's or Embedder's running totals.
type Stats struct {
	// Calls is the number of HTTP attempts sent, retries included.
	Calls   int64
	Retries int64
	// Status429 counts 429 answers received.
	Status429 int64
	// Failures counts calls that ended in an error after the retries.
	Failures int64
	// CacheHits and CacheMisses count cache lookups (rewriter only).
	CacheHits, CacheMisses int64
	PromptTokens           int64
	CompletionTokens       int64
	CostUSD                float64
	// BreakerState is "closed", "open" or "half-open"; BreakerOpened the
	// number of times it opened; BreakerRejected the calls it refused.
	BreakerState    string
	BreakerOpened   int
	BreakerRejected int64
	// LimiterWait is the total time calls waited for the rate limiter.
	LimiterWait time.Duration
}

type counters struct {
	calls, retries, status429, failures, cacheHits, cacheMisses atomic.Int64
	promptTokens, completionTokens, costNanoUSD                 atomic.Int64
	breakerRejected, limiterWait                                atomic.Int64
}

// core runs provider calls under the limits: breaker, concurrency,
// rate limiter, per-attempt timeout, retries.
type core struct {
	lim     Limits
	oc      *goopenai.Client
	limiter *limiter
	breaker *breaker
	sem     chan struct{}
	log     *slog.Logger
	now     func() time.Time
	model   string
	onUsage func(context.Context, Usage)
	n       counters
}

func newCore(lim Limits, baseURL, apiKey, model string, hc *http.Client, log *slog.Logger, now func() time.Time, onUsage func(context.Context, Usage), completionGuess int) *core {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var base http.RoundTripper
	if hc != nil && hc.Transport != nil {
		base = hc.Transport
	} else {
		// Keep a warm connection per concurrent call: the default of two
		// idle connections per host makes every other call dial anew, and
		// dial times vary enough to bunch paced calls into a burst.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = lim.Concurrency
		base = t
	}
	client := &http.Client{Transport: captureTransport{base: base}}
	if hc != nil {
		client.CheckRedirect, client.Jar = hc.CheckRedirect, hc.Jar
	}
	ocfg := goopenai.DefaultConfig(apiKey)
	ocfg.BaseURL = strings.TrimRight(baseURL, "/")
	ocfg.HTTPClient = client
	return &core{
		lim:     lim,
		oc:      goopenai.NewClientWithConfig(ocfg),
		limiter: newLimiter(lim, now, completionGuess),
		breaker: &breaker{now: now, threshold: lim.BreakerFailures, cooldown: lim.BreakerCooldown},
		sem:     make(chan struct{}, lim.Concurrency),
		log:     log,
		now:     now,
		model:   model,
		onUsage: onUsage,
	}
}

// attempt is one HTTP attempt; it reports the tokens the provider counted
// (0 if unknown) and whether a failure may be retried (a stream that has
// already delivered text may not).
type attempt func(ctx context.Context) (tokens used, err error)

type used struct {
	prompt, completion int
	noRetry            bool
}

// call runs fn until it succeeds, fails permanently, or the retries are
// spent. estimate is the call's expected total tokens, for the limiter.
func (c *core) call(ctx context.Context, op string, estimate int, fn attempt) error {
	for n := 1; ; n++ {
		probe, ok := c.breaker.allow()
		if !ok {
			c.n.breakerRejected.Add(1)
			c.n.failures.Add(1)
			return circuitOpen()
		}
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			c.breaker.record(probe, neutral)
			return ctx.Err()
		}
		waited, err := c.limiter.wait(ctx, estimate)
		if err == nil && c.lim.Shared != nil {
			var shared time.Duration
			shared, err = c.lim.Shared.Wait(ctx, estimate)
			waited += shared
		}
		c.n.limiterWait.Add(int64(waited))
		if err != nil {
			<-c.sem
			c.breaker.record(probe, neutral)
			return err
		}
		capt := &capture{}
		actx, cancel := context.WithTimeout(withCapture(ctx, capt), c.lim.Timeout)
		c.n.calls.Add(1)
		u, err := fn(actx)
		cancel()
		<-c.sem
		if total := u.prompt + u.completion; total > 0 {
			c.limiter.correct(estimate, total, u.completion)
		}
		if err == nil {
			c.breaker.record(probe, success)
			return nil
		}
		if ctx.Err() != nil {
			c.breaker.record(probe, neutral)
			return ctx.Err()
		}
		if !capt.wasSent() {
			// go-openai refused to build the request (an option the model
			// does not take): nothing reached the provider.
			c.breaker.record(probe, neutral)
			c.n.failures.Add(1)
			return listinggen.WrapError(listinggen.EUNAVAILABLE, fmt.Errorf("%w: %w", ErrRejected, err), "the language model request is misconfigured")
		}
		status, retryAfter := statusOf(err, capt)
		retryable := status == 0 && isTimeout(err) || status == 408 || status == 409 || status == 429 || status >= 500
		switch {
		case status == 0 || status == 408 || status >= 500:
			c.breaker.record(probe, failure)
		default:
			c.breaker.record(probe, success) // it answered: up, if unhappy
		}
		if status == 429 {
			// Everyone waits, not just this call: the next calls would be
			// refused too. A wait longer than MaxRetryAfter is not imposed
			// on others; this call gives up below and so will theirs.
			c.n.status429.Add(1)
			c.limiter.pause(min(retryAfter, c.lim.MaxRetryAfter))
		}
		fail := func() error {
			c.n.failures.Add(1)
			return providerFailure(&StatusError{StatusCode: status, RetryAfter: retryAfter, Attempts: n, Err: err})
		}
		if !retryable || u.noRetry || n > c.lim.MaxRetries {
			return fail()
		}
		wait := c.backoff(n)
		if retryAfter > 0 {
			if retryAfter > c.lim.MaxRetryAfter {
				return fail()
			}
			// At least what was asked, plus a little jitter so that the
			// callers it paused do not return in lockstep.
			wait = retryAfter + time.Duration(rand.Int64N(int64(min(retryAfter/10, 100*time.Millisecond))+1))
		}
		if dl, ok := ctx.Deadline(); ok && dl.Sub(c.now()) < wait {
			return fail()
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "llm call failed, retrying",
			slog.String("op", op), slog.Int("attempt", n), slog.Int("status", status),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		c.n.retries.Add(1)
	}
}

// backoff is exponential with equal jitter: half the step fixed, half random.
func (c *core) backoff(n int) time.Duration {
	d := float64(c.lim.BackoffBase) * math.Pow(2, float64(n-1))
	d = math.Min(d, float64(c.lim.BackoffMax))
	return time.Duration(d/2 + rand.Float64()*d/2)
}

// statusOf is the HTTP status of a failed attempt (0 for timeouts and
// transport errors) and the provider's Retry-After.
func statusOf(err error, capt *capture) (int, time.Duration) {
	captured, retryAfter := capt.get()
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode > 0:
		return apiErr.HTTPStatusCode, retryAfter
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode > 0:
		return reqErr.HTTPStatusCode, retryAfter
	case captured >= 400:
		return captured, retryAfter
	}
	return 0, retryAfter
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// record adds a call's usage to the totals and reports it.
func (c *core) record(ctx context.Context, op, model string, prompt, completion int, pricePrompt, priceCompletion float64) float64 {
	if prompt == 0 && completion == 0 {
		return 0
	}
	cost := float64(prompt)/1000*pricePrompt + float64(completion)/1000*priceCompletion
	c.n.promptTokens.Add(int64(prompt))
	c.n.completionTokens.Add(int64(completion))
	c.n.costNanoUSD.Add(int64(math.Round(cost * 1e9)))
	if c.onUsage != nil {
		c.onUsage(ctx, Usage{Op: op, Model: model, PromptTokens: prompt, CompletionTokens: completion, CostUSD: cost})
	}
	return cost
}

func (c *core) stats() Stats {
	state, opened := c.breaker.snapshot()
	return Stats{
		Calls:            c.n.calls.Load(),
		Retries:          c.n.retries.Load(),
		Status429:        c.n.status429.Load(),
		Failures:         c.n.failures.Load(),
		CacheHits:        c.n.cacheHits.Load(),
		CacheMisses:      c.n.cacheMisses.Load(),
		PromptTokens:     c.n.promptTokens.Load(),
		CompletionTokens: c.n.completionTokens.Load(),
		CostUSD:          float64(c.n.costNanoUSD.Load()) / 1e9,
		BreakerState:     state.String(),
		BreakerOpened:    opened,
		BreakerRejected:  c.n.breakerRejected.Load(),
		LimiterWait:      time.Duration(c.n.limiterWait.Load()),
	}
}

// EstimateTokens estimates a text's tokens the way CJK-heavy prompts
// tokenize: one token per non-ASCII rune, one per four ASCII bytes. It
// sizes calls for the rate limiter before the provider reports usage.
func EstimateTokens(s string) int {
	ascii, other := 0, 0
	for _, r := range s {
		if r < 0x80 {
			ascii++
		} else {
			other++
		}
	}
	return other + (ascii+3)/4
}

func estimateMessages(msgs []goopenai.ChatCompletionMessage) int {
	n := 3
	for _, m := range msgs {
		n += EstimateTokens(m.Content) + 4
	}
	return n
}
