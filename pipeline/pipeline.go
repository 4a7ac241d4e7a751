// Package pipeline turns a source product into a stored listing for one
// shop through an ordered list of steps sharing one State:
// normalise → rewrite → comply → embed → dedup → save. Batch jobs and the
// HTTP API run the same Pipeline.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/pipeline/grounding"
	"github.com/listinggen/listinggen/pipeline/sanitize"
)

// Config wires the pipeline's collaborators.
type Config struct {
	Store    listinggen.Store
	Rewriter listinggen.Rewriter
	// Images, when set, makes the image variants; otherwise listings keep
	// their images pending.
	Images ImageProcessor
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

// State is what the steps share while one product is processed for one shop.
type State struct {
	TenantID string
	Product  listinggen.Product
	Shop     *listinggen.Shop

	// Checker is the compliance checker with the tenant's and shop's own
	// words; Rules the platform's limits with the shop's overrides.
	Checker          *compliance.Checker
	Rules            listinggen.TextRules
	Seed             uint64
	SourceViolations []listinggen.Violation
	// Repaired records automatic changes made before the comply step.
	Repaired []string
	// Variant is 0 for the first generation and different for each
	// regeneration, so that it draws new copy instead of the same.
	Variant uint64
	// ExcludeID is the listing being regenerated, not its own duplicate.
	ExcludeID string
	// Distinct names the group's titles a redraw must not repeat.
	Distinct *listinggen.Distinctness
	// OnDelta, when set, receives the rewriter's output as it arrives.
	OnDelta func(string)
	// Images are the listing's images and their variants.
	Images        []listinggen.ListingImage
	ImagesStatus  string
	ImageErrors   []listinggen.ImageError
	Rewrite       *listinggen.Rewrite
	Compliance    listinggen.ComplianceReport
	ReviewReasons []string
	Embedding     []float32
	Dedup         listinggen.DedupReport

	// Key is the listing's idempotency key, set by the reuse step.
	Key string
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

// Step is one stage of the pipeline.
type Step struct {
	Name string
	Run  func(ctx context.Context, st *State) error
}

// Pipeline runs its steps in order.
type Pipeline struct {
	cfg   Config
	steps []Step
	// redraw is every step but reuse and save: what writes copy again for a
	// listing that exists (Regenerate) or is not stored yet (Generate's
	// rewrites away from another shop's copy), where reuse has nothing to
	// find and saving is the caller's.
	redraw   []Step
	specs    map[listinggen.Platform]images.Spec
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
	specs, err := imageSpecs(cfg)
	if err != nil {
		return nil, err
	}
	weights := dedup.DefaultWeights()
	if cfg.Dedup.Weights != nil {
		weights = *cfg.Dedup.Weights
	}
	p := &Pipeline{cfg: cfg, specs: specs, verified: &dedup.Verified{Store: cfg.Store, Verifier: dedup.NewVerifier(weights),
		Confirmer: cfg.Confirmer, Config: cfg.Dedup}}
	p.steps = []Step{
		{"normalise", p.normalise},
		{"reuse", p.reuse},
		{"rewrite", p.rewrite},
		{"comply", p.comply},
		{"images", p.images},
		{"embed", p.embed},
		{"dedup", p.dedup},
		{"save", p.save},
	}
	p.redraw = slices.DeleteFunc(slices.Clone(p.steps), func(s Step) bool { return s.Name == "reuse" || s.Name == "save" })
	return p, nil
}

// StepNames lists the steps in order.
func (p *Pipeline) StepNames() []string {
	names := make([]string, len(p.steps))
	for i, s := range p.steps {
		names[i] = s.Name
	}
	return names
}

// Run runs every step on st, checking ctx between steps so that a cancelled
// request or job stops before its next expensive stage.
func (p *Pipeline) Run(ctx context.Context, st *State) error {
	return p.runSteps(ctx, st, p.steps)
}

func (p *Pipeline) runSteps(ctx context.Context, st *State, steps []Step) error {
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
func (p *Pipeline) Generate(ctx context.Context, tenantID string, product listinggen.Product, shop *listinggen.Shop) (*State, error) {
	st := &State{TenantID: tenantID, Product: product, Shop: shop}
	last := len(p.steps) - 1
	if err := p.runSteps(ctx, st, p.steps[:last]); err != nil || st.done {
		return st, err // done: the reuse step found the listing stored
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
			return st, err
		}
		distinct = &listinggen.Distinctness{Titles: titles, Similarity: dedup.TitleSimilarity, Below: p.cfg.Dedup.DuplicateThreshold}
	}
	for attempt := 1; attempt <= p.cfg.Dedup.MaxRewrites && copyDuplicate(best.Dedup) > 0; attempt++ {
		next := &State{TenantID: tenantID, Product: product, Shop: shop, Variant: uint64(attempt) << 32,
			Images: st.Images, ImagesStatus: st.ImagesStatus, ImageErrors: st.ImageErrors, reuseImages: true, Rewrites: attempt,
			Timings: st.Timings, Distinct: distinct}
		if err := p.runSteps(ctx, next, p.redraw); err != nil {
			return next, err
		}
		if copyDuplicate(next.Dedup) < copyDuplicate(best.Dedup) {
			best = next
		}
		best.Rewrites = attempt
	}
	st = best
	return st, p.runSteps(ctx, st, p.steps[last:])
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

func (p *Pipeline) normalise(ctx context.Context, st *State) error {
	st.Product.Normalize()
	if err := st.Product.Validate("product"); err != nil {
		return err
	}
	if st.Shop == nil || st.Shop.TenantID != st.TenantID {
		return listinggen.Errorf(listinggen.ENOTFOUND, "shop not found")
	}
	var err error
	if st.Checker, st.Rules, err = p.checkerFor(ctx, st.TenantID, st.Shop); err != nil {
		return err
	}
	st.Seed = shopSeed(st.Shop.ID, st.Product.ID, st.Variant)
	// Check the source first, so the rewriter is told what to avoid and the
	// reviewer sees what the supplier's text broke.
	st.SourceViolations = append(st.Checker.FindTerms("source.title", st.Product.Title),
		st.Checker.FindTerms("source.description", st.Product.Description)...)
	return nil
}

// listingKey is the idempotency key of the listing st makes.
func (p *Pipeline) listingKey(st *State) string {
	return IdempotencyKey(st.TenantID, st.Product.ContentHash(), st.Shop.ID, p.cfg.Rewriter.Name(), p.cfg.Rewriter.Version())
}

// reuse ends the run with the stored listing when this (tenant, product
// content, shop, rewriter version) was generated before. The store's unique
// key would keep a second copy out anyway, but only after the model had been
// paid for it: asking first is what makes re-running an unchanged catalogue
// cost zero calls, from any process and after any restart, not only while
// the rewriter's in-memory cache still holds the answer.
func (p *Pipeline) reuse(ctx context.Context, st *State) error {
	st.Key = p.listingKey(st)
	l, err := p.cfg.Store.FindListingByKey(ctx, st.TenantID, st.Key)
	if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	st.Listing, st.Created, st.done = l, false, true
	return nil
}

// avoidTerms lists each banned source term once.
func avoidTerms(vs []listinggen.Violation) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Term != "" && !seen[v.Term] {
			seen[v.Term] = true
			out = append(out, v.Term)
		}
	}
	return out
}

// shopSeed varies the copy per shop, product and regeneration, reproducibly.
func shopSeed(shopID, productID string, variant uint64) uint64 {
	key := shopID + "\x00" + productID
	if variant > 0 {
		key += fmt.Sprintf("\x00%d", variant)
	}
	sum := sha256.Sum256([]byte(key))
	return binary.LittleEndian.Uint64(sum[:8])
}

// rewrite writes the copy, then makes it safe to display: whatever the
// rewriter (a model) wrote, titles, selling points and keywords are plain
// text and the description is sanitised HTML (pipeline/sanitize).
func (p *Pipeline) rewrite(ctx context.Context, st *State) error {
	if err := p.rewriteCopy(ctx, st); err != nil {
		return err
	}
	var changed []string
	st.Rewrite.Copy, changed = sanitize.Copy(st.Rewrite.Copy)
	for _, f := range changed {
		st.Repaired = append(st.Repaired, "sanitize: removed markup from "+f)
	}
	return nil
}

func (p *Pipeline) rewriteCopy(ctx context.Context, st *State) error {
	req := listinggen.RewriteRequest{Product: &st.Product, Shop: st.Shop, Rules: st.Rules,
		Seed: st.Seed, Avoid: avoidTerms(st.SourceViolations), Distinct: st.Distinct}
	var rw *listinggen.Rewrite
	var err error
	if sr, ok := p.cfg.Rewriter.(listinggen.StreamRewriter); ok && st.OnDelta != nil {
		rw, err = sr.RewriteStream(ctx, req, st.OnDelta)
	} else {
		rw, err = p.cfg.Rewriter.Rewrite(ctx, req)
	}
	if p.cfg.Fallback == nil {
		if err != nil {
			return err
		}
		st.Rewrite = rw
		return nil
	}
	if err != nil {
		return p.fallBack(ctx, st, req, fmt.Sprintf("rewrite: %s failed (%s)", p.cfg.Rewriter.Name(), failureReason(err)), err)
	}
	// Model output is untrusted: it must be grounded in the source and
	// within the rules before the comply step's term removal. One repair
	// round feeds the problems back; then the rules rewriter takes over.
	problems := p.validateOutput(st, rw.Copy)
	if len(problems) == 0 {
		st.Rewrite = rw
		return nil
	}
	repairer, ok := p.cfg.Rewriter.(listinggen.Repairer)
	if !ok {
		return p.fallBack(ctx, st, req, "rewrite: "+strings.Join(problems, "; "), nil)
	}
	repaired, err := repairer.Repair(ctx, req, rw.Copy, problems)
	if err != nil {
		return p.fallBack(ctx, st, req, fmt.Sprintf("rewrite: repair failed (%s) after: %s", failureReason(err), strings.Join(problems, "; ")), err)
	}
	if again := p.validateOutput(st, repaired.Copy); len(again) > 0 {
		return p.fallBack(ctx, st, req, "rewrite: still invalid after one repair round: "+strings.Join(again, "; "), nil)
	}
	repaired.Provenance.PromptTokens += rw.Provenance.PromptTokens
	repaired.Provenance.CompletionTokens += rw.Provenance.CompletionTokens
	repaired.Provenance.CostUSD += rw.Provenance.CostUSD
	st.Rewrite = repaired
	st.Repaired = append(st.Repaired, "rewrite: one repair round fixed: "+strings.Join(problems, "; "))
	return nil
}

// failureReason says why a rewriter failed, for a reviewer: the
// application message and the cause (refusal, content filter, cut off at
// the token limit …), bounded in length.
func failureReason(err error) string {
	msg := listinggen.ErrorMessage(err)
	if cause := errors.Unwrap(err); cause != nil {
		msg += ": " + cause.Error()
	}
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return msg
}

// validateOutput lists what is wrong with a rewriter's copy: missing
// fields, ungrounded facts and blocking rule violations.
func (p *Pipeline) validateOutput(st *State, cp listinggen.Copy) []string {
	var problems []string
	if strings.TrimSpace(cp.Title) == "" {
		problems = append(problems, "title: missing")
	}
	if len(cp.SellingPoints) == 0 {
		problems = append(problems, "selling_points: missing")
	}
	problems = append(problems, grounding.Reasons(grounding.Check(&st.Product, cp))...)
	problems = append(problems, ReviewReasons(st.Checker.Check(st.Rules, cp))...)
	return problems
}

// fallBack rewrites with the fallback rewriter and marks the listing for
// review with the reason. A cancelled request is not a reason to fall back.
func (p *Pipeline) fallBack(ctx context.Context, st *State, req listinggen.RewriteRequest, reason string, cause error) error {
	if cause != nil && (errors.Is(cause, context.Canceled) || ctx.Err() != nil) {
		return cause
	}
	rw, err := p.cfg.Fallback.Rewrite(ctx, req)
	if err != nil {
		return err
	}
	p.cfg.Logger.WarnContext(ctx, "rewriter fell back", "shop", st.Shop.ID, "product", st.Product.ID, "reason", reason)
	st.Rewrite = rw
	st.ReviewReasons = append(st.ReviewReasons, reason+"; the rules rewriter wrote this copy")
	return nil
}

// comply checks the copy, repairs it once by removing the flagged terms, and
// flags the listing for review if it still breaks a blocking rule.
func (p *Pipeline) comply(ctx context.Context, st *State) error {
	st.Compliance, st.Rewrite.Copy = checkAndRepair(st.Checker, st.Rules, st.Rewrite.Copy)
	st.Compliance.SourceViolations = st.SourceViolations
	st.Compliance.Repaired = append(st.Repaired, st.Compliance.Repaired...)
	st.ReviewReasons = append(st.ReviewReasons, ReviewReasons(st.Compliance)...)
	return nil
}

func checkAndRepair(checker *compliance.Checker, rules listinggen.TextRules, cp listinggen.Copy) (listinggen.ComplianceReport, listinggen.Copy) {
	report := checker.Check(rules, cp)
	if report.OK {
		return report, cp
	}
	repaired, changes := repair(checker, cp, report)
	after := checker.Check(rules, repaired)
	after.Repaired = changes
	return after, repaired
}

// repair removes (or replaces with the suggested word) every flagged term.
func repair(checker *compliance.Checker, cp listinggen.Copy, report listinggen.ComplianceReport) (listinggen.Copy, []string) {
	var changes []string
	for _, v := range report.Violations {
		if v.Term != "" {
			if v.Suggestion != "" {
				changes = append(changes, fmt.Sprintf("%s: replaced %q with %q", v.Field, v.Term, v.Suggestion))
			} else {
				changes = append(changes, fmt.Sprintf("%s: removed %q", v.Field, v.Term))
			}
		}
	}
	// Removing a term leaves its surrounding spaces behind; fold them.
	clean := func(s string) string { return strings.Join(strings.Fields(checker.Clean(s)), " ") }
	var lines []string
	for _, line := range strings.Split(cp.Description, "\n") {
		lines = append(lines, clean(line))
	}
	out := listinggen.Copy{Title: clean(cp.Title), Description: strings.Join(lines, "\n")}
	for _, s := range cp.SellingPoints {
		if s = clean(s); s != "" {
			out.SellingPoints = append(out.SellingPoints, s)
		}
	}
	for _, s := range cp.Keywords {
		if s = clean(s); s != "" {
			out.Keywords = append(out.Keywords, s)
		}
	}
	return out, changes
}

// checkerFor is the checker and text rules for one shop: the built-in
// lists plus the tenant's and the shop's own words, and the platform's
// limits with the shop's overrides. The pipeline, the edit re-check and the
// check endpoint all use it, so they give the same verdicts.
func (p *Pipeline) checkerFor(ctx context.Context, tenantID string, shop *listinggen.Shop) (*compliance.Checker, listinggen.TextRules, error) {
	var words []listinggen.WordRules
	if p.cfg.TenantWords != nil {
		w, err := p.cfg.TenantWords(ctx, tenantID)
		if err != nil {
			return nil, listinggen.TextRules{}, err
		}
		words = append(words, w)
	}
	words = append(words, shop.WordRules)
	return p.cfg.Checker.With(words...), p.cfg.Checker.Rules(shop.Platform, shop.Rules), nil
}

// ReviewReasons turns the blocking violations of a report into reasons a
// reviewer reads.
func ReviewReasons(r listinggen.ComplianceReport) []string {
	var out []string
	for _, v := range r.Violations {
		if v.Severity != listinggen.SeverityBlock {
			continue
		}
		if v.Term != "" {
			out = append(out, fmt.Sprintf("%s: %q breaks %s", v.Field, v.Term, v.Rule))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", v.Field, v.Rule))
		}
	}
	return out
}

// EmbeddingText is the text a listing is embedded by: its title and selling
// points. The title alone embeds worse: per-shop reordering moves its
// character n-grams, and on the sample catalogue title-only vectors
// separated same-item pairs from different-item pairs far less well.
func EmbeddingText(cp listinggen.Copy) string {
	text := cp.Title
	for _, s := range cp.SellingPoints {
		text += "\n" + s
	}
	return text
}

func (p *Pipeline) embed(ctx context.Context, st *State) error {
	vecs, err := p.cfg.Embedder.Embed(ctx, []string{EmbeddingText(st.Rewrite.Copy)})
	if err != nil {
		return err
	}
	if len(vecs) != 1 {
		return listinggen.Errorf(listinggen.EINTERNAL, "embedder returned %d vectors for 1 text", len(vecs))
	}
	st.Embedding = vecs[0]
	return nil
}

func (p *Pipeline) dedup(ctx context.Context, st *State) error {
	item := dedup.ItemFromListing(&listinggen.Listing{Copy: st.Rewrite.Copy, Source: st.Product, Images: st.Images})
	report, err := p.verified.Check(ctx, dedup.VerifiedQuery{Item: item, ProductID: st.Product.ID, Query: dedup.Query{
		TenantID: st.TenantID, Shop: st.Shop, Vector: st.Embedding, Model: p.cfg.Embedder.Model(), ExcludeID: st.ExcludeID,
	}})
	if err != nil {
		return err
	}
	st.Dedup = report
	st.ReviewReasons = append(st.ReviewReasons, dedupReasons(report)...)
	return nil
}

func dedupReasons(r listinggen.DedupReport) []string {
	if r.Verdict != listinggen.VerdictDuplicate {
		return nil
	}
	return []string{"dedup: " + strings.Join(r.Reasons, "; ")}
}

// CheckDuplicates is the dedup check of the API: item (embedded by text)
// against a shop and its group, or the tenant's whole catalogue when shop
// is nil. Nothing is stored.
func (p *Pipeline) CheckDuplicates(ctx context.Context, tenantID string, shop *listinggen.Shop, text string, item dedup.Item) (listinggen.DedupReport, error) {
	vecs, err := p.cfg.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return listinggen.DedupReport{}, err
	}
	return p.verified.Check(ctx, dedup.VerifiedQuery{Item: item, Query: dedup.Query{
		TenantID: tenantID, Shop: shop, Vector: vecs[0], Model: p.cfg.Embedder.Model(),
	}})
}

// IdempotencyKey identifies one (tenant, product content, shop, rewriter,
// version) combination: the same request twice stores one listing.
func IdempotencyKey(tenantID, productHash, shopID, rewriter, version string) string {
	sum := sha256.Sum256([]byte(tenantID + "\x00" + productHash + "\x00" + shopID + "\x00" + rewriter + "\x00" + version))
	return hex.EncodeToString(sum[:])
}

func (p *Pipeline) save(ctx context.Context, st *State) error {
	hash := st.Product.ContentHash()
	status := listinggen.StatusDraft
	if len(st.ReviewReasons) > 0 {
		status = listinggen.StatusNeedsReview
	}
	prov := st.Rewrite.Provenance
	prov.Embedder = p.cfg.Embedder.Model()
	l := &listinggen.Listing{
		TenantID:       st.TenantID,
		ShopID:         st.Shop.ID,
		ProductID:      st.Product.ID,
		ProductHash:    hash,
		Platform:       st.Shop.Platform,
		Status:         status,
		Copy:           st.Rewrite.Copy,
		Source:         st.Product,
		Images:         st.Images,
		ImagesStatus:   st.ImagesStatus,
		ImageErrors:    st.ImageErrors,
		Compliance:     st.Compliance,
		Dedup:          st.Dedup,
		Provenance:     prov,
		ReviewReasons:  st.ReviewReasons,
		Embedding:      st.Embedding,
		EmbeddingModel: p.cfg.Embedder.Model(),
		IdempotencyKey: st.Key,
	}
	if l.IdempotencyKey == "" { // a rewrite attempt's state, which reuse did not see
		l.IdempotencyKey = p.listingKey(st)
	}
	created, err := p.cfg.Store.CreateListing(ctx, l)
	if err != nil {
		return err
	}
	st.Listing, st.Created = l, created
	return nil
}

// usageAccount charges the model calls made under ctx to the tenant and
// shop, and to the batch job the caller's account names (a worker sets it),
// if it is the same tenant's.
func usageAccount(ctx context.Context, tenantID string, shop *listinggen.Shop) context.Context {
	a := listinggen.UsageAccount{TenantID: tenantID}
	if outer, ok := listinggen.UsageAccountFrom(ctx); ok && outer.TenantID == tenantID {
		a.JobID = outer.JobID
	}
	if shop != nil {
		a.ShopID = shop.ID
	}
	return listinggen.WithUsageAccount(ctx, a)
}

// Recheck re-validates a listing whose copy a person edited: compliance
// (reported, never repaired: a person's words are not changed behind their
// back), a new embedding and a new dedup verdict. The caller saves it.
func (p *Pipeline) Recheck(ctx context.Context, l *listinggen.Listing, shop *listinggen.Shop) error {
	ctx = usageAccount(ctx, l.TenantID, shop)
	checker, rules, err := p.checkerFor(ctx, l.TenantID, shop)
	if err != nil {
		return err
	}
	l.Compliance = checker.Check(rules, l.Copy)
	vecs, err := p.cfg.Embedder.Embed(ctx, []string{EmbeddingText(l.Copy)})
	if err != nil {
		return err
	}
	l.Embedding, l.EmbeddingModel = vecs[0], p.cfg.Embedder.Model()
	l.Dedup, err = p.verified.Check(ctx, dedup.VerifiedQuery{Item: dedup.ItemFromListing(l), ProductID: l.ProductID, Query: dedup.Query{
		TenantID: l.TenantID, Shop: shop, Vector: l.Embedding, Model: l.EmbeddingModel, ExcludeID: l.ID,
	}})
	if err != nil {
		return err
	}
	l.ReviewReasons = append(append(ReviewReasons(l.Compliance), dedupReasons(l.Dedup)...), imageReasons(l)...)
	return nil
}

// CheckCopy checks copy without storing anything: the check the comply step
// makes for this tenant and shop (shop may be nil: the platform's rules and
// the tenant's words only). With fix it also returns what the comply step
// would store: the copy after its one repair round and that copy's report.
func (p *Pipeline) CheckCopy(ctx context.Context, tenantID string, platform listinggen.Platform, shop *listinggen.Shop, cp listinggen.Copy, fix bool) (report listinggen.ComplianceReport, fixed *listinggen.Copy, fixedReport *listinggen.ComplianceReport, err error) {
	if shop == nil {
		shop = &listinggen.Shop{TenantID: tenantID, Platform: platform}
	}
	checker, rules, err := p.checkerFor(ctx, tenantID, shop)
	if err != nil {
		return report, nil, nil, err
	}
	report = checker.Check(rules, cp)
	if !fix {
		return report, nil, nil, nil
	}
	after, repaired := checkAndRepair(checker, rules, cp)
	return report, &repaired, &after, nil
}

// Regenerate writes new copy for a stored listing: the same product and
// shop, a new variant, every step but save, and then an update of the
// listing (same id, next version). onDelta, if set, receives the model's
// output as it arrives. Status goes back to draft, or needs_review with the
// reasons.
func (p *Pipeline) Regenerate(ctx context.Context, l *listinggen.Listing, shop *listinggen.Shop, onDelta func(string)) error {
	st := &State{TenantID: l.TenantID, Product: l.Source, Shop: shop, Variant: uint64(l.Version), ExcludeID: l.ID, OnDelta: onDelta}
	if err := p.runSteps(ctx, st, p.redraw); err != nil {
		return err
	}
	l.Copy = st.Rewrite.Copy
	l.Images, l.ImagesStatus, l.ImageErrors = st.Images, st.ImagesStatus, st.ImageErrors
	l.Compliance = st.Compliance
	l.Dedup = st.Dedup
	l.Provenance = st.Rewrite.Provenance
	l.Provenance.Embedder = p.cfg.Embedder.Model()
	l.ReviewReasons = st.ReviewReasons
	l.Embedding, l.EmbeddingModel = st.Embedding, p.cfg.Embedder.Model()
	l.Status = listinggen.StatusDraft
	if len(st.ReviewReasons) > 0 {
		l.Status = listinggen.StatusNeedsReview
	}
	return p.cfg.Store.UpdateListing(ctx, l)
}
