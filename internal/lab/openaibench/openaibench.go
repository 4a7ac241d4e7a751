// Package openaibench measures LLM rewriting throughput against the fake
// provider (internal/openaitest) under enforced rate limits: the figures of
// the performance target (achieved requests per minute as a fraction of the
// limit, the share of 429s, failed items, tokens per listing, and a rerun of
// the same catalogue that should make no calls). The limits are parameters,
// so the 3-minute run at RPM 600 can be scaled down (RPM 6000, latency
// 30-150 ms, a 6-second enforcement window) with the same shape.
package openaibench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/openai"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/grounding"
)

// Config is one benchmark run.
type Config struct {
	// Products are cycled to make Items items; each copy gets its own id
	// (so its own content hash and cache key).
	Products []listinggen.Product
	Items    int
	// RPM, TPM, LatencyMin and LatencyMax configure the fake provider; the
	// client is given the same RPM and TPM.
	RPM, TPM               int
	LatencyMin, LatencyMax time.Duration
	// Faults are per-call fault probabilities for the fake (seeded, so
	// reproducible), e.g. {Status500: 0.02, Invent: 0.01}.
	Faults map[openaitest.Fault]float64
	// Window is the fake's enforcement window (default: a minute scaled
	// by 600/RPM, within [1s, 60s], so a run scaled 10x keeps its shape).
	Window time.Duration
	// Workers is the number of items processed at once (default 64);
	// Concurrency the client's bound on calls in flight (default 64).
	Workers, Concurrency int
	// Headroom is the client's pacing fraction (0: the client default).
	Headroom float64
	// Platform picks the text rules (default douyin).
	Platform listinggen.Platform
	// Process handles one item (default DefaultProcess). Pass a function
	// running the real pipeline to measure it end to end.
	Process func(ctx context.Context, rw *openai.Rewriter, req listinggen.RewriteRequest) (Outcome, error)
}

// Outcome is what happened to one item.
type Outcome struct {
	Repaired    bool // a repair round was needed
	NeedsReview bool // the copy still failed validation (the pipeline would fall back)
}

// Report is a run's figures.
type Report struct {
	Items, Failed, Repaired, NeedsReview int
	Elapsed                              time.Duration
	// Calls is the number of chat calls the provider received, Answered
	// the ones it answered with 200, Status429 the ones it refused.
	Calls, Answered, Status429 int
	Share429                   float64
	// AchievedRPM is answered calls per minute; RPMFraction its ratio to
	// the RPM limit. The same for tokens.
	AchievedRPM, RPMFraction float64
	AchievedTPM, TPMFraction float64
	// BindingLimit is "rpm" or "tpm", whichever the run used more of, and
	// BindingFraction that fraction: with ~500+ tokens a call, TPM 300k is
	// reached before RPM 600.
	BindingLimit    string
	BindingFraction float64
	// Tokens per listing (first run, all calls including repairs).
	PromptTokensPerListing, CompletionTokensPerListing, TokensPerListing float64
	CostPerListingUSD                                                    float64
	// The rerun of the same items with the same (cached) rewriter.
	RerunCalls   int
	RerunElapsed time.Duration
	RerunRatio   float64 // RerunElapsed / Elapsed
	RerunFailed  int
}

// String is the report as make bench prints it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "items %d, failed %d, repaired %d, needs review %d, elapsed %v\n", r.Items, r.Failed, r.Repaired, r.NeedsReview, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "calls %d (answered %d), 429s %d = %.2f%% of calls (target <= 1%%)\n", r.Calls, r.Answered, r.Status429, 100*r.Share429)
	fmt.Fprintf(&b, "achieved %.0f requests/min = %.3f of the RPM limit; %.0f tokens/min = %.3f of the TPM limit\n", r.AchievedRPM, r.RPMFraction, r.AchievedTPM, r.TPMFraction)
	fmt.Fprintf(&b, "binding limit %s at %.3f (target >= 0.95)\n", r.BindingLimit, r.BindingFraction)
	fmt.Fprintf(&b, "tokens per listing %.0f (prompt %.0f + completion %.0f), cost per listing $%.6f at the openai preset's prices\n", r.TokensPerListing, r.PromptTokensPerListing, r.CompletionTokensPerListing, r.CostPerListingUSD)
	fmt.Fprintf(&b, "rerun: %d calls, %v = %.4f of the first run (target: 0 calls, < 0.05), failed %d\n", r.RerunCalls, r.RerunElapsed.Round(time.Microsecond), r.RerunRatio, r.RerunFailed)
	return b.String()
}

var checker = func() *compliance.Checker {
	c, err := compliance.New()
	if err != nil {
		panic(err)
	}
	return c
}()

// DefaultProcess is what the pipeline does with the model: rewrite, check
// grounding and compliance, and on problems run one repair round.
func DefaultProcess(ctx context.Context, rw *openai.Rewriter, req listinggen.RewriteRequest) (Outcome, error) {
	var out Outcome
	res, err := rw.Rewrite(ctx, req)
	if err != nil {
		return out, err
	}
	problems := problemsOf(req, res.Copy)
	if len(problems) == 0 {
		return out, nil
	}
	out.Repaired = true
	res, err = rw.Repair(ctx, req, res.Copy, problems)
	if err != nil {
		return out, err
	}
	out.NeedsReview = len(problemsOf(req, res.Copy)) > 0
	return out, nil
}

func problemsOf(req listinggen.RewriteRequest, cp listinggen.Copy) []string {
	problems := grounding.Reasons(grounding.Check(req.Product, cp))
	for _, v := range checker.Check(req.Rules, cp).Violations {
		if v.Severity == listinggen.SeverityBlock {
			problems = append(problems, fmt.Sprintf("%s: %q breaks %s", v.Field, v.Term, v.Rule))
		}
	}
	return problems
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Products) == 0 || c.Items <= 0 {
		return c, errors.New("openaibench: Products and Items are required")
	}
	if c.RPM <= 0 || c.TPM <= 0 {
		return c, errors.New("openaibench: RPM and TPM are required")
	}
	if c.Window <= 0 {
		c.Window = min(max(time.Duration(float64(time.Minute)*600/float64(c.RPM)), time.Second), time.Minute)
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Platform == "" {
		c.Platform = listinggen.PlatformDouyin
	}
	if c.Process == nil {
		c.Process = DefaultProcess
	}
	return c, nil
}

// Run starts a fake provider with the limits, rewrites Items items through
// a cached Rewriter with the same limits, then reruns them.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	srv := openaitest.New(openaitest.Config{
		RPM: cfg.RPM, TPM: cfg.TPM, Window: cfg.Window,
		LatencyMin: cfg.LatencyMin, LatencyMax: cfg.LatencyMax, Seed: 1, Rates: cfg.Faults,
		RetryAfter: min(time.Second, cfg.Window/10),
	})
	defer srv.Close()
	ocfg, err := openai.PresetConfig("openai")
	if err != nil {
		return Report{}, err
	}
	ocfg.BaseURL, ocfg.APIKey, ocfg.Model = srv.URL(), "bench", "fake-model"
	ocfg.RPM, ocfg.TPM, ocfg.Concurrency = cfg.RPM, cfg.TPM, cfg.Concurrency
	if cfg.Headroom > 0 {
		ocfg.Headroom = cfg.Headroom
	}
	ocfg.Cache = openai.NewLRU(2 * cfg.Items)
	rw, err := openai.New(ocfg)
	if err != nil {
		return Report{}, err
	}
	reqs := make([]listinggen.RewriteRequest, cfg.Items)
	shop := &listinggen.Shop{ID: "bench-shop", Platform: cfg.Platform}
	rules := checker.Rules(cfg.Platform)
	for i := range reqs {
		p := cfg.Products[i%len(cfg.Products)]
		p.Normalize()
		p.ID = fmt.Sprintf("%s-%d", p.ID, i/len(cfg.Products))
		reqs[i] = listinggen.RewriteRequest{Product: &p, Shop: shop, Rules: rules, Seed: uint64(i)}
	}

	rep := Report{Items: cfg.Items}
	start := time.Now()
	first := runAll(ctx, cfg, rw, reqs)
	rep.Elapsed = time.Since(start)
	st := srv.Stats()
	rep.Failed, rep.Repaired, rep.NeedsReview = first.failed, first.repaired, first.needsReview
	rep.Calls, rep.Answered, rep.Status429 = st.Chat, st.Answered, st.Status429
	if st.Chat > 0 {
		rep.Share429 = float64(st.Status429) / float64(st.Chat)
	}
	minutes := rep.Elapsed.Minutes()
	tokens := st.PromptTokens + st.CompletionTokens
	rep.AchievedRPM = float64(st.Answered) / minutes
	rep.RPMFraction = rep.AchievedRPM / float64(cfg.RPM)
	rep.AchievedTPM = float64(tokens) / minutes
	rep.TPMFraction = rep.AchievedTPM / float64(cfg.TPM)
	rep.BindingLimit, rep.BindingFraction = "rpm", rep.RPMFraction
	if rep.TPMFraction > rep.RPMFraction {
		rep.BindingLimit, rep.BindingFraction = "tpm", rep.TPMFraction
	}
	rep.PromptTokensPerListing = float64(st.PromptTokens) / float64(cfg.Items)
	rep.CompletionTokensPerListing = float64(st.CompletionTokens) / float64(cfg.Items)
	rep.TokensPerListing = float64(tokens) / float64(cfg.Items)
	rep.CostPerListingUSD = rw.Stats().CostUSD / float64(cfg.Items)

	start = time.Now()
	again := runAll(ctx, cfg, rw, reqs)
	rep.RerunElapsed = time.Since(start)
	rep.RerunCalls = srv.Stats().Chat - st.Chat
	rep.RerunFailed = again.failed
	rep.RerunRatio = rep.RerunElapsed.Seconds() / rep.Elapsed.Seconds()
	return rep, ctx.Err()
}

type tally struct{ failed, repaired, needsReview int }

func runAll(ctx context.Context, cfg Config, rw *openai.Rewriter, reqs []listinggen.RewriteRequest) tally {
	var next atomic.Int64
	var mu sync.Mutex
	var t tally
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) || ctx.Err() != nil {
					return
				}
				out, err := cfg.Process(ctx, rw, reqs[i])
				mu.Lock()
				if err != nil {
					t.failed++
				}
				if out.Repaired {
					t.repaired++
				}
				if out.NeedsReview {
					t.needsReview++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return t
}
