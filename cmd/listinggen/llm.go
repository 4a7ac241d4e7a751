package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/openai"
	"github.com/listinggen/listinggen/postgres"
	"github.com/listinggen/listinggen/prompts"
)

// envReader reads typed settings from the environment and collects every
// problem, each naming its variable, so that a bad configuration is reported
// whole at start.
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (r *envReader) str(name string, dst *string) {
	if v := r.getenv(name); v != "" {
		*dst = v
	}
}

func (r *envReader) int(name string, dst *int) {
	if v := r.getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: want a whole number, got %q", name, v))
			return
		}
		*dst = n
	}
}

func (r *envReader) float(name string, dst *float64) {
	if v := r.getenv(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: want a non-negative number, got %q", name, v))
			return
		}
		*dst = f
	}
}

func (r *envReader) duration(name string, dst *time.Duration) {
	if v := r.getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: want a duration such as 30s, got %q", name, v))
			return
		}
		*dst = d
	}
}

func (r *envReader) limits(prefix string, l *openai.Limits) {
	r.int(prefix+"_RPM", &l.RPM)
	r.int(prefix+"_TPM", &l.TPM)
	r.int(prefix+"_CONCURRENCY", &l.Concurrency)
	r.duration(prefix+"_TIMEOUT", &l.Timeout)
	r.int(prefix+"_MAX_RETRIES", &l.MaxRetries)
}

// sharedLimiter makes the limiter every process on one database shares
// (nil on the embedded store, where one process does all the work).
type sharedLimiter func(name string, l openai.Limits) (openai.SharedLimiter, error)

// sharedLimiterFor is PostgreSQL's token buckets, or nil.
func sharedLimiterFor(store listinggen.Store) sharedLimiter {
	pg, ok := store.(*postgres.Store)
	if !ok {
		return nil
	}
	return func(name string, l openai.Limits) (openai.SharedLimiter, error) {
		return pg.RateLimiter(name, l.RPM, l.TPM, l.Headroom)
	}
}

// llmRewriter returns the LLM rewriter configured by LLM_* (nil when
// neither LLM_PROVIDER nor LLM_BASE_URL is set: the rules rewriter stays).
func llmRewriter(getenv func(string) string, logger *slog.Logger, onUsage func(context.Context, openai.Usage), shared sharedLimiter) (*openai.Rewriter, error) {
	provider, baseURL := getenv("LLM_PROVIDER"), getenv("LLM_BASE_URL")
	if provider == "" && baseURL == "" {
		return nil, nil
	}
	if provider == "" {
		provider = "openai" // any OpenAI-compatible endpoint, with OpenAI's defaults
	}
	cfg, err := openai.PresetConfig(provider)
	if err != nil {
		return nil, fmt.Errorf("LLM_PROVIDER: %w", err)
	}
	r := &envReader{getenv: getenv}
	r.str("LLM_BASE_URL", &cfg.BaseURL)
	r.str("LLM_API_KEY", &cfg.APIKey)
	r.str("LLM_MODEL", &cfg.Model)
	r.str("LLM_RESPONSE_FORMAT", &cfg.ResponseFormat)
	var temperature float64 = float64(cfg.Temperature)
	r.float("LLM_TEMPERATURE", &temperature)
	cfg.Temperature = float32(temperature)
	r.int("LLM_MAX_TOKENS", &cfg.MaxTokens)
	r.float("LLM_PRICE_PROMPT_PER_1K", &cfg.PricePromptPer1K)
	r.float("LLM_PRICE_COMPLETION_PER_1K", &cfg.PriceCompletionPer1K)
	r.limits("LLM", &cfg.Limits)
	cacheSize := 100_000
	r.int("LLM_CACHE_SIZE", &cacheSize)
	if dir := getenv("PROMPTS_DIR"); dir != "" {
		set, err := prompts.Load(dir)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("PROMPTS_DIR: %w", err))
		}
		cfg.Prompts = set
	}
	if err := errors.Join(r.errs...); err != nil {
		return nil, err
	}
	if cacheSize > 0 {
		cfg.Cache = openai.NewLRU(cacheSize)
	}
	if shared != nil && (cfg.RPM > 0 || cfg.TPM > 0) {
		if cfg.Shared, err = shared("llm", cfg.Limits); err != nil {
			return nil, err
		}
		logger.Info("LLM rate limits shared by every process on the database", "rpm", cfg.RPM, "tpm", cfg.TPM)
	}
	cfg.Logger, cfg.OnUsage = logger, onUsage
	rw, err := openai.New(cfg)
	if err != nil {
		return nil, err
	}
	logger.Info("LLM rewriter", "provider", provider, "model", cfg.Model, "base_url", cfg.BaseURL,
		"prompt_version", rw.Version(), "fallback", "rules")
	return rw, nil
}

// apiEmbedder returns the embedder configured by EMBEDDING_* (nil: the
// hashing embedder stays).
func apiEmbedder(getenv func(string) string, logger *slog.Logger, onUsage func(context.Context, openai.Usage), shared sharedLimiter) (listinggen.Embedder, error) {
	provider, baseURL := getenv("EMBEDDING_PROVIDER"), getenv("EMBEDDING_BASE_URL")
	if provider == "" && baseURL == "" {
		return nil, nil
	}
	if provider == "" {
		provider = "openai"
	}
	cfg, err := openai.EmbedderPresetConfig(provider)
	if err != nil {
		return nil, fmt.Errorf("EMBEDDING_PROVIDER: %w", err)
	}
	r := &envReader{getenv: getenv}
	r.str("EMBEDDING_BASE_URL", &cfg.BaseURL)
	r.str("EMBEDDING_API_KEY", &cfg.APIKey)
	r.str("EMBEDDING_MODEL", &cfg.Model)
	r.int("EMBEDDING_DIMENSIONS", &cfg.Dimensions)
	r.int("EMBEDDING_CACHE_SIZE", &cfg.CacheSize)
	r.float("EMBEDDING_PRICE_PER_1K", &cfg.PricePer1K)
	r.limits("EMBEDDING", &cfg.Limits)
	if err := errors.Join(r.errs...); err != nil {
		return nil, err
	}
	if shared != nil && (cfg.RPM > 0 || cfg.TPM > 0) {
		if cfg.Shared, err = shared("embedding", cfg.Limits); err != nil {
			return nil, err
		}
	}
	cfg.Logger, cfg.OnUsage = logger, onUsage
	e, err := openai.NewEmbedder(cfg)
	if err != nil {
		return nil, err
	}
	logger.Info("API embedder", "provider", provider, "model", e.Model())
	return e, nil
}
