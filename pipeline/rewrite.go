package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/grounding"
	"github.com/listinggen/listinggen/pipeline/sanitize"
)

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
func (p *Pipeline) rewrite(ctx context.Context, st *state) error {
	st.Seed = shopSeed(st.Shop.ID, st.Product.ID, st.Variant)
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

func (p *Pipeline) rewriteCopy(ctx context.Context, st *state) error {
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
func (p *Pipeline) validateOutput(st *state, cp listinggen.Copy) []string {
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
func (p *Pipeline) fallBack(ctx context.Context, st *state, req listinggen.RewriteRequest, reason string, cause error) error {
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
