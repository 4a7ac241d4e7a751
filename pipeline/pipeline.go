// Package pipeline turns a source product into a stored listing for one
// shop through an ordered list of steps sharing one state:
// normalise → rewrite → comply → embed → dedup → save. Batch jobs and the
// HTTP API run the same Pipeline.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Config wires the pipeline's collaborators.
type Config struct {
	Store    listinggen.Store
	Rewriter listinggen.Rewriter
	// Images, when set, makes the image variants; otherwise listings keep
	// their images pending.
	Images listinggen.ImageProcessor
	// Fallback, when set, is the rewriter used when Rewriter fails or its
	// copy is still invalid after one repair round (the rules rewriter
	// behind an LLM). The listing is then marked needs_review with reasons.
	Fallback listinggen.Rewriter
	Embedder listinggen.Embedder
	Checker  *compliance.Checker
	Dedup    dedup.Config
	// Confirmer, when set, gives a second opinion (a language model) on
	// borderline dedup matches; see dedup.Verified.
	Confirmer dedup.Confirmer
	// TenantWords returns a tenant's own word rules; nil means none.
	TenantWords func(ctx context.Context, tenantID string) (listinggen.WordRules, error)
	Logger      *slog.Logger
	Now         func() time.Time
	// Observer, when set, is told each step's duration and each image
	// error (metrics).
	Observer Observer
}

// Observer receives the pipeline's measurements.
type Observer interface {
	StepDone(step string, d time.Duration, err error)
	ImageError(code string)
}

// Validate reports every missing collaborator at once.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("pipeline: Store is required"))
	}
	if c.Rewriter == nil {
		errs = append(errs, errors.New("pipeline: Rewriter is required"))
	}
	if c.Embedder == nil {
		errs = append(errs, errors.New("pipeline: Embedder is required"))
	}
	if c.Checker == nil {
		errs = append(errs, errors.New("pipeline: Checker is required"))
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("pipeline: Logger is required"))
	}
	errs = append(errs, c.Dedup.Validate())
	return errors.Join(errs...)
}

// state is what the steps share while one product is processed for one
// shop, in four parts: what was asked, what normalise derives from it, the
// listing being drafted, and how the run goes.
type state struct {
	request
	derived
	draft
	run
}

// request is what the caller asks for.
type request struct {
	TenantID string
	Product  listinggen.Product
	Shop     *listinggen.Shop
	// Variant is 0 for the first generation and different for each
	// regeneration, so that it draws new copy instead of the same.
	Variant uint64
	// ExcludeID is the listing being regenerated, not its own duplicate.
	ExcludeID string
	// Distinct names the group's titles a redraw must not repeat.
	Distinct *listinggen.Distinctness
	// OnDelta, when set, receives the rewriter's output as it arrives.
	OnDelta func(string)
}

// derived is what the normalise step works out once per product and shop.
type derived struct {
	// Checker is the compliance checker with the tenant's and shop's own
	// words; Rules the platform's limits with the shop's overrides.
	Checker          *compliance.Checker
	Rules            listinggen.TextRules
	SourceViolations []listinggen.Violation
}

// draft is the listing the steps make.
type draft struct {
	Seed uint64
	// Repaired records automatic changes made before the comply step.
	Repaired      []string
	Rewrite       *listinggen.Rewrite
	Compliance    listinggen.ComplianceReport
	ReviewReasons []string
	Images        []listinggen.ListingImage
	ImagesStatus  string
	ImageErrors   []listinggen.ImageError
	Embedding     []float32
	Dedup         listinggen.DedupReport
	// Key is the listing's idempotency key, set by the reuse step.
	Key string
}

// run is how the run goes and how it ended.
type run struct {
	// Listing is the stored listing; Created is false when an identical
	// earlier request had already stored it.
	Listing *listinggen.Listing
	Created bool
	// done ends the run early without an error: the reuse step found the
	// listing already stored.
	done bool
	// Timings records each step's duration, for logs and metrics.
	Timings map[string]time.Duration
	// Rewrites counts the extra rewrites made to get the copy away from
	// another shop's (see Generate).
	Rewrites int
	// reuseImages keeps Images from an earlier attempt.
	reuseImages bool
}

// Outcome is what Generate made: the stored listing, whether this call
// created it, how many extra rewrites its copy took, and each step's
// duration (for logs).
type Outcome struct {
	Listing  *listinggen.Listing
	Created  bool
	Rewrites int
	Timings  map[string]time.Duration
}

// step is one stage of the pipeline.
type step struct {
	Name string
	Run  func(ctx context.Context, st *state) error
}

// Pipeline runs its steps in order.
type Pipeline struct {
	cfg   Config
	steps []step
	// redraw is every step but reuse and save: what writes copy again for a
	// listing that exists (Regenerate), where reuse has nothing to find and
	// saving is the caller's. rewrites is redraw without normalise: what
	// Generate runs again to get its copy away from another shop's.
	redraw   []step
	rewrites []step
	verified *dedup.Verified
}

// New builds the standard pipeline.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pipeline{cfg: cfg, verified: &dedup.Verified{Store: cfg.Store, Verifier: dedup.NewVerifier(cfg.Dedup.Model),
		Confirmer: cfg.Confirmer, Config: cfg.Dedup}}
	p.steps = []step{
		{"normalise", p.normalise},
		{"reuse", p.reuse},
		{"rewrite", p.rewrite},
		{"comply", p.comply},
		{"images", p.images},
		{"embed", p.embed},
		{"dedup", p.dedup},
		{"save", p.save},
	}
	p.redraw = withoutSteps(p.steps, "reuse", "save")
	p.rewrites = withoutSteps(p.redraw, "normalise")
	return p, nil
}

// withoutSteps returns steps less the named ones, in order.
func withoutSteps(steps []step, names ...string) []step {
	return slices.DeleteFunc(slices.Clone(steps), func(s step) bool { return slices.Contains(names, s.Name) })
}

// StepNames lists the steps in order.
func (p *Pipeline) StepNames() []string {
	names := make([]string, len(p.steps))
	for i, s := range p.steps {
		names[i] = s.Name
	}
	return names
}

// runSteps runs steps on st in order, checking ctx between steps so that a
// cancelled request or job stops before its next expensive stage.
func (p *Pipeline) runSteps(ctx context.Context, st *state, steps []step) error {
	if st.Timings == nil {
		st.Timings = make(map[string]time.Duration, len(p.steps))
	}
	ctx = usageAccount(ctx, st.TenantID, st.Shop)
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := p.cfg.Now()
		err := s.Run(ctx, st)
		st.Timings[s.Name] = p.cfg.Now().Sub(start)
		if p.cfg.Observer != nil {
			p.cfg.Observer.StepDone(s.Name, st.Timings[s.Name], err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if st.done {
			return nil
		}
	}
	return nil
}

// Generate runs the pipeline for one product and one shop. When the copy
// repeats another shop of the group's (a copy duplicate, which platforms
// punish across linked shops), the copy is written again with other seeds,
// at most Dedup.MaxRewrites times, keeping the images already made; if none
// gets below the threshold, the attempt furthest from the group's copy
// stands, with its verdict.
func (p *Pipeline) Generate(ctx context.Context, tenantID string, product listinggen.Product, shop *listinggen.Shop) (*Outcome, error) {
	st := &state{request: request{TenantID: tenantID, Product: product, Shop: shop}}
	last := len(p.steps) - 1
	if err := p.runSteps(ctx, st, p.steps[:last]); err != nil || st.done {
		return st.outcome(), err // done: the reuse step found the listing stored
	}
	best := st
	var distinct *listinggen.Distinctness
	if copyDuplicate(best.Dedup) > 0 && p.cfg.Dedup.MaxRewrites > 0 {
		// Each redraw is told the titles it must not repeat: a rewriter
		// that draws at random from few words finds a distinct title far
		// sooner when it can aim.
		titles, err := p.verified.SameProductTitles(ctx, dedup.VerifiedQuery{ProductID: st.Product.ID,
			Query: dedup.Query{TenantID: tenantID, Shop: shop, ExcludeID: st.ExcludeID}})
		if err != nil {
			return st.outcome(), err
		}
		distinct = &listinggen.Distinctness{Titles: titles, Similarity: dedup.TitleSimilarity, Below: p.cfg.Dedup.DuplicateThreshold}
	}
	for attempt := 1; attempt <= p.cfg.Dedup.MaxRewrites && copyDuplicate(best.Dedup) > 0; attempt++ {
		// A redraw keeps what normalise derived and the images made: only
		// the copy and what depends on it are made again.
		req := st.request
		req.Variant, req.Distinct = uint64(attempt)<<32, distinct
		next := &state{request: req, derived: st.derived,
			draft: draft{Images: st.Images, ImagesStatus: st.ImagesStatus, ImageErrors: st.ImageErrors},
			run:   run{reuseImages: true, Rewrites: attempt, Timings: st.Timings}}
		if err := p.runSteps(ctx, next, p.rewrites); err != nil {
			return next.outcome(), err
		}
		if copyDuplicate(next.Dedup) < copyDuplicate(best.Dedup) {
			best = next
		}
		best.Rewrites = attempt
	}
	st = best
	err := p.runSteps(ctx, st, p.steps[last:])
	return st.outcome(), err
}

func (st *state) outcome() *Outcome {
	return &Outcome{Listing: st.Listing, Created: st.Created, Rewrites: st.Rewrites, Timings: st.Timings}
}

// copyDuplicate is the highest title similarity among the matches whose
// copy repeats another shop's of the group, or 0 when none does: new copy
// can fix that (a same-item duplicate within the shop it cannot, but the
// copy should still not repeat the group's).
func copyDuplicate(r listinggen.DedupReport) float64 {
	worst := 0.0
	for _, m := range r.Matches {
		if m.Verdict == listinggen.VerdictDuplicate && m.Kind == dedup.KindSameGroup {
			worst = max(worst, m.TextScore)
		}
	}
	return worst
}
