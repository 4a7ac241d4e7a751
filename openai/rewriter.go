package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/prompts"
)

// Rewriter writes copy with a chat model. It is safe for concurrent use;
// share one per process so that its limits, breaker and cache are shared.
type Rewriter struct {
	cfg     Config
	core    *core
	prompts *prompts.Set
	// schemaRejected is set when the provider answered 400 to json_schema;
	// later calls use json_object.
	schemaRejected atomic.Bool
}

var _ listinggen.Rewriter = (*Rewriter)(nil)

// New returns a Rewriter for cfg.
func New(cfg Config) (*Rewriter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Prompts == nil {
		cfg.Prompts = prompts.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	guess := min(cfg.MaxTokens, 400)
	c := newCore(cfg.Limits, cfg.BaseURL, cfg.APIKey, cfg.Model, cfg.HTTPClient, cfg.Logger, cfg.Now, cfg.OnUsage, guess)
	return &Rewriter{cfg: cfg, core: c, prompts: cfg.Prompts}, nil
}

// Name identifies the rewriter in provenance and idempotency keys.
func (r *Rewriter) Name() string { return "openai" }

// Version is the prompt set's version and the model, "p-…+model": a new
// prompt or model makes new listings.
func (r *Rewriter) Version() string { return r.prompts.Version() + "+" + r.cfg.Model }

// Model is the configured model.
func (r *Rewriter) Model() string { return r.cfg.Model }

// Stats returns the running totals (calls, retries, 429s, tokens, cost,
// cache hits, breaker state).
func (r *Rewriter) Stats() Stats { return r.core.stats() }

type skipCacheKey struct{}

// SkipCache returns a context under which the rewriter does not read its
// cache (it still writes it): regenerating a listing on request must call
// the model even when the inputs did not change.
func SkipCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipCacheKey{}, true)
}

// job is one prepared call.
type job struct {
	op       string // rewrite, repair
	req      listinggen.RewriteRequest
	messages []goopenai.ChatCompletionMessage
	key      string
}

// Rewrite writes copy for one product in one shop. A cache hit makes no
// call. Failures are *listinggen.Error values wrapping one of the
// sentinels in errors.go; see Fallback.
func (r *Rewriter) Rewrite(ctx context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
	j, err := r.prepare(req, "rewrite", nil, nil)
	if err != nil {
		return nil, err
	}
	if rw, ok := r.cached(ctx, j); ok {
		return rw, nil
	}
	return r.complete(ctx, j)
}

// Repair runs one repair round: the conversation of the first call, the
// previous copy as the model's answer, and the problems found in it (from
// the grounding and compliance checks), asking for corrected copy. Its
// Provenance counts the repair call's tokens only; add the first call's for
// the listing's total. Results are cached like Rewrite's.
func (r *Rewriter) Repair(ctx context.Context, req listinggen.RewriteRequest, previous listinggen.Copy, problems []string) (*listinggen.Rewrite, error) {
	j, err := r.prepare(req, "repair", &previous, problems)
	if err != nil {
		return nil, err
	}
	if rw, ok := r.cached(ctx, j); ok {
		return rw, nil
	}
	return r.complete(ctx, j)
}

// RewriteStream is Rewrite with the model's output passed to onDelta as it
// arrives (raw JSON text, for server-sent events); the parsed copy is
// returned at the end, and nothing streamed is copy until then. A cache hit
// passes the cached copy's JSON in one delta. onDelta is called from the
// calling goroutine and should not block for long. Failures before the
// first delta are retried like Rewrite's; after it they are not (the text
// already sent cannot be taken back), and the caller should tell its client
// to discard what it showed.
func (r *Rewriter) RewriteStream(ctx context.Context, req listinggen.RewriteRequest, onDelta func(string)) (*listinggen.Rewrite, error) {
	if onDelta == nil {
		onDelta = func(string) {}
	}
	j, err := r.prepare(req, "rewrite", nil, nil)
	if err != nil {
		return nil, err
	}
	if rw, ok := r.cached(ctx, j); ok {
		b, _ := json.Marshal(rw.Copy)
		onDelta(string(b))
		return rw, nil
	}
	var (
		text    strings.Builder
		finish  goopenai.FinishReason
		refusal strings.Builder
		usage   *goopenai.Usage
		model   string
	)
	format := r.format()
	estimate := estimateMessages(j.messages) + r.core.limiter.expectedCompletion()
	for {
		creq := r.request(j, format)
		creq.Stream = true
		if r.cfg.StreamUsage {
			creq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
		}
		err = r.core.call(ctx, "stream", estimate, func(actx context.Context) (used, error) {
			text.Reset()
			refusal.Reset()
			finish, usage = "", nil
			stream, err := r.core.oc.CreateChatCompletionStream(actx, creq)
			if err != nil {
				return used{}, err
			}
			defer stream.Close()
			emitted := false
			for {
				chunk, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return used{noRetry: emitted}, err
				}
				if chunk.Model != "" {
					model = chunk.Model
				}
				if chunk.Usage != nil {
					usage = chunk.Usage
				}
				for _, ch := range chunk.Choices {
					refusal.WriteString(ch.Delta.Refusal)
					if ch.Delta.Content != "" {
						text.WriteString(ch.Delta.Content)
						onDelta(ch.Delta.Content)
						emitted = true
					}
					if ch.FinishReason != "" && ch.FinishReason != goopenai.FinishReasonNull {
						finish = ch.FinishReason
					}
				}
			}
			u := used{noRetry: emitted}
			if usage != nil {
				u.prompt, u.completion = usage.PromptTokens, usage.CompletionTokens
			}
			return u, nil
		})
		if err != nil && format == FormatJSONSchema && r.rejectedSchema(err) {
			format = FormatJSONObject
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	if usage == nil { // the provider sent no usage chunk: estimate
		usage = &goopenai.Usage{PromptTokens: estimateMessages(j.messages), CompletionTokens: EstimateTokens(text.String()) + EstimateTokens(refusal.String())}
	}
	if model == "" {
		model = r.cfg.Model
	}
	cost := r.core.record(ctx, "stream", model, usage.PromptTokens, usage.CompletionTokens, r.cfg.PricePromptPer1K, r.cfg.PriceCompletionPer1K)
	if finish == "" && refusal.Len() == 0 {
		r.core.n.failures.Add(1)
		return nil, modelFailure(&ParseError{Content: text.String(), Err: errors.New("the stream ended without a finish_reason (truncated)")})
	}
	cp, err := interpret(text.String(), refusal.String(), finish)
	if err != nil {
		r.core.n.failures.Add(1)
		return nil, modelFailure(err)
	}
	return r.finish(ctx, j, cp, model, usage.PromptTokens, usage.CompletionTokens, cost), nil
}

// complete makes the (non-streamed) call of j.
func (r *Rewriter) complete(ctx context.Context, j job) (*listinggen.Rewrite, error) {
	var resp goopenai.ChatCompletionResponse
	format := r.format()
	estimate := estimateMessages(j.messages) + r.core.limiter.expectedCompletion()
	var err error
	for {
		creq := r.request(j, format)
		err = r.core.call(ctx, j.op, estimate, func(actx context.Context) (used, error) {
			var err error
			resp, err = r.core.oc.CreateChatCompletion(actx, creq)
			return used{prompt: resp.Usage.PromptTokens, completion: resp.Usage.CompletionTokens}, err
		})
		if err != nil && format == FormatJSONSchema && r.rejectedSchema(err) {
			format = FormatJSONObject
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	model := resp.Model
	if model == "" {
		model = r.cfg.Model
	}
	cost := r.core.record(ctx, j.op, model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens, r.cfg.PricePromptPer1K, r.cfg.PriceCompletionPer1K)
	if len(resp.Choices) == 0 {
		r.core.n.failures.Add(1)
		return nil, modelFailure(&ParseError{Err: errors.New("the answer has no choices")})
	}
	ch := resp.Choices[0]
	cp, err := interpret(ch.Message.Content, ch.Message.Refusal, ch.FinishReason)
	if err != nil {
		r.core.n.failures.Add(1)
		return nil, modelFailure(err)
	}
	return r.finish(ctx, j, cp, model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens, cost), nil
}

// interpret turns a finished answer into copy or a typed failure: a refusal,
// a length or content-filter stop, or unparsable output are never copy.
func interpret(content, refusal string, finish goopenai.FinishReason) (listinggen.Copy, error) {
	switch {
	case strings.TrimSpace(refusal) != "":
		return listinggen.Copy{}, &RefusalError{Refusal: refusal}
	case finish == goopenai.FinishReasonLength:
		return listinggen.Copy{}, fmt.Errorf("%w (%d characters received)", ErrLength, len(content))
	case finish == goopenai.FinishReasonContentFilter:
		return listinggen.Copy{}, ErrContentFilter
	}
	return ParseCopy(content)
}

func (r *Rewriter) finish(ctx context.Context, j job, cp listinggen.Copy, model string, prompt, completion int, cost float64) *listinggen.Rewrite {
	rw := &listinggen.Rewrite{Copy: cp, Provenance: listinggen.Provenance{
		Rewriter:         r.Name(),
		Model:            model,
		PromptVersion:    r.prompts.Version(),
		Seed:             j.req.Seed,
		PromptTokens:     prompt,
		CompletionTokens: completion,
		CostUSD:          cost,
	}}
	if r.cfg.Cache != nil {
		r.cfg.Cache.Put(ctx, j.key, *rw)
	}
	return rw
}

func (r *Rewriter) cached(ctx context.Context, j job) (*listinggen.Rewrite, bool) {
	if r.cfg.Cache == nil {
		return nil, false
	}
	if skip, _ := ctx.Value(skipCacheKey{}).(bool); skip {
		return nil, false
	}
	rw, ok := r.cfg.Cache.Get(ctx, j.key)
	if !ok {
		r.core.n.cacheMisses.Add(1)
		return nil, false
	}
	r.core.n.cacheHits.Add(1)
	return &rw, true
}

// prepare renders the messages of a call and its cache key.
func (r *Rewriter) prepare(req listinggen.RewriteRequest, op string, previous *listinggen.Copy, problems []string) (job, error) {
	if req.Product == nil {
		return job{}, listinggen.Errorf(listinggen.EINVALID, "rewrite: no product")
	}
	platform := req.Rules.Platform
	if platform == "" && req.Shop != nil {
		platform = req.Shop.Platform
	}
	if platform == "" {
		platform = listinggen.PlatformGeneric
	}
	style := ""
	if req.Shop != nil {
		style = req.Shop.Style
	}
	lang := prompts.LangFor(platform, req.Product.Language)
	// The terms the source broke and the shop's own banned words are named
	// in the prompt, so the model avoids them instead of being repaired.
	extra := append([]string(nil), req.Avoid...)
	if req.Shop != nil {
		for _, t := range req.Shop.BannedWords {
			extra = append(extra, t.Term)
		}
	}
	data := prompts.Data{Product: req.Product, Style: style, Rules: req.Rules, ExtraBannedTerms: extra}
	if req.Distinct != nil {
		data.AvoidTitles = req.Distinct.Titles
	}
	system, user, err := r.prompts.Render(platform, lang, data)
	if err != nil {
		return job{}, err
	}
	msgs := []goopenai.ChatCompletionMessage{
		{Role: goopenai.ChatMessageRoleSystem, Content: system},
		{Role: goopenai.ChatMessageRoleUser, Content: user},
	}
	parts := map[string]any{
		"op": op, "product": req.Product.ContentHash(), "style": style, "platform": platform, "rules": req.Rules,
		"lang": lang, "prompts": r.prompts.Version(), "model": r.cfg.Model, "format": r.cfg.ResponseFormat,
		"temperature": r.cfg.Temperature, "max_tokens": r.cfg.MaxTokens, "seed": req.Seed, "avoid": extra,
		"avoid_titles": data.AvoidTitles,
	}
	if op == "repair" {
		repair, err := r.prompts.RenderRepair(platform, lang, data, *previous, problems)
		if err != nil {
			return job{}, err
		}
		msgs = append(msgs,
			goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: prompts.PreviousMessage(*previous)},
			goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: repair})
		parts["previous"], parts["problems"] = *previous, problems
	}
	return job{op: op, req: req, messages: msgs, key: cacheKey(parts)}, nil
}

func (r *Rewriter) format() string {
	if r.cfg.ResponseFormat == FormatJSONSchema && r.schemaRejected.Load() {
		return FormatJSONObject
	}
	return r.cfg.ResponseFormat
}

// rejectedSchema reports a 400 about response_format, after which the
// rewriter uses json_object from then on.
func (r *Rewriter) rejectedSchema(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		return false
	}
	msg := strings.ToLower(se.Err.Error())
	if !strings.Contains(msg, "response_format") && !strings.Contains(msg, "json_schema") {
		return false
	}
	if !r.schemaRejected.Swap(true) {
		r.cfg.Logger.Warn("provider rejected response_format json_schema; using json_object", "provider", r.cfg.Provider, "model", r.cfg.Model, "error", se.Err.Error())
	}
	return true
}

func (r *Rewriter) request(j job, format string) goopenai.ChatCompletionRequest {
	creq := goopenai.ChatCompletionRequest{
		Model:       r.cfg.Model,
		Messages:    j.messages,
		Temperature: r.cfg.Temperature,
	}
	if creq.Temperature == 0 {
		// go-openai omits a zero temperature, which means the provider's
		// default (1.0); the smallest positive value is 0 in effect.
		creq.Temperature = math.SmallestNonzeroFloat32
	}
	r.limitTokens(&creq, r.cfg.MaxTokens)
	switch format {
	case FormatJSONSchema:
		creq.ResponseFormat = &goopenai.ChatCompletionResponseFormat{
			Type:       goopenai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{Name: "listing_copy", Schema: copySchema, Strict: true},
		}
	case FormatJSONObject:
		creq.ResponseFormat = &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatTypeJSONObject}
	}
	if r.cfg.SendSeed {
		seed := int(j.req.Seed & math.MaxInt32)
		creq.Seed = &seed
	}
	return creq
}

// limitTokens caps a request's output in the field the provider reads:
// OpenAI's newer models take only max_completion_tokens, while most
// OpenAI-compatible servers (DeepSeek, Ollama, vLLM) read max_tokens.
func (r *Rewriter) limitTokens(req *goopenai.ChatCompletionRequest, n int) {
	if r.cfg.UseMaxCompletionTokens {
		req.MaxCompletionTokens = n
		return
	}
	//lint:ignore SA1019 max_tokens is the field OpenAI-compatible servers read
	req.MaxTokens = n
}
