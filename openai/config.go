// Package openai is the LLM adapter: a listinggen.Rewriter and a
// listinggen.Embedder for any OpenAI-compatible endpoint, on
// github.com/sashabaranov/go-openai.
//
// Around each provider call it keeps client-side limits (requests and tokens
// per minute, concurrency), a per-call timeout, retries with exponential
// backoff and jitter on 408/409/429/5xx and timeouts (honouring Retry-After,
// which go-openai hides, so the HTTP transport is wrapped to capture it), and
// a circuit breaker that fails fast while the provider is down so that the
// pipeline falls back to the rules rewriter. Output is asked for as
// response_format json_schema where the provider supports it and json_object
// otherwise, parsed tolerantly, and every way a call can fail to produce copy
// (finish_reason length or content_filter, a refusal, unparsable output) is
// a distinct typed error, never copy. Results are cached by everything that
// determines them, so re-running an unchanged catalogue makes no calls.
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/listinggen/listinggen/prompts"
)

// Response formats: how the model is asked for JSON.
const (
	// FormatJSONSchema sends response_format json_schema (strict) with the
	// copy schema: the provider guarantees the shape.
	FormatJSONSchema = "json_schema"
	// FormatJSONObject sends response_format json_object: valid JSON, shape
	// by prompt.
	FormatJSONObject = "json_object"
	// FormatText sends no response_format and relies on the prompt and the
	// tolerant parser.
	FormatText = "text"
)

// Limits are the resilience settings shared by the rewriter and the embedder.
type Limits struct {
	// Timeout bounds one HTTP attempt (a whole stream, for RewriteStream),
	// not the time spent waiting for the rate limiter.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt, on
	// 408/409/429/5xx and timeouts only.
	MaxRetries int
	// BackoffBase and BackoffMax bound the exponential backoff (with jitter)
	// between retries when the provider sends no Retry-After.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter: a Retry-After longer than this is not waited for; the
	// call fails with ErrRateLimited at once.
	MaxRetryAfter time.Duration
	// RPM and TPM are the provider's limits (0: none). The client paces
	// calls at Headroom times these so that it does not hit them.
	RPM, TPM int
	// Headroom is the fraction of RPM/TPM the client targets, in (0, 1].
	Headroom float64
	// Concurrency bounds calls in flight.
	Concurrency int
	// BreakerFailures consecutive failed attempts (5xx, timeouts, transport
	// errors) open the circuit; after BreakerCooldown one probe call is let
	// through, and its success closes the circuit again.
	BreakerFailures int
	BreakerCooldown time.Duration
	// Shared, when set, is a limiter every process of a deployment shares
	// (postgres.Store.RateLimiter): calls wait for it after this process's
	// own limiter, so N worker processes together stay within RPM and TPM.
	Shared SharedLimiter
}

// SharedLimiter paces calls across processes. Wait reserves a call of
// tokens and blocks until its turn.
type SharedLimiter interface {
	Wait(ctx context.Context, tokens int) (time.Duration, error)
}

func defaultLimits() Limits {
	return Limits{
		Timeout:         60 * time.Second,
		MaxRetries:      3,
		BackoffBase:     500 * time.Millisecond,
		BackoffMax:      20 * time.Second,
		MaxRetryAfter:   60 * time.Second,
		Headroom:        0.97,
		Concurrency:     16,
		BreakerFailures: 8,
		BreakerCooldown: 30 * time.Second,
	}
}

func (l Limits) validate(prefix string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(prefix+": "+format, args...)) }
	if l.Timeout <= 0 {
		bad("Timeout must be positive")
	}
	if l.MaxRetries < 0 || l.MaxRetries > 10 {
		bad("MaxRetries %d not in [0, 10]", l.MaxRetries)
	}
	if l.BackoffBase <= 0 || l.BackoffMax < l.BackoffBase {
		bad("BackoffBase must be positive and at most BackoffMax")
	}
	if l.MaxRetryAfter < 0 {
		bad("MaxRetryAfter must not be negative")
	}
	if l.RPM < 0 || l.TPM < 0 {
		bad("RPM and TPM must not be negative")
	}
	if l.Headroom <= 0 || l.Headroom > 1 {
		bad("Headroom %.2f not in (0, 1]", l.Headroom)
	}
	if l.Concurrency < 1 {
		bad("Concurrency must be at least 1")
	}
	if l.BreakerFailures < 1 {
		bad("BreakerFailures must be at least 1")
	}
	if l.BreakerCooldown <= 0 {
		bad("BreakerCooldown must be positive")
	}
	return errs
}

// Usage is one provider call's cost, reported to Config.OnUsage so that the
// caller can total tokens and money per shop and job (put their ids in the
// context). Failed calls that consumed tokens are reported too.
type Usage struct {
	// Op is "rewrite", "repair", "stream" or "embed".
	Op               string
	Model            string
	PromptTokens     int
	CompletionTokens int
	CostUSD          float64
}

// Config configures the Rewriter.
type Config struct {
	// Provider names the preset the config came from (informational).
	Provider string
	// BaseURL is the OpenAI-compatible endpoint, ending in /v1 (or the
	// provider's equivalent, such as .../compatible-mode/v1 or .../api/v3).
	BaseURL string
	APIKey  string
	Model   string
	// ResponseFormat is FormatJSONSchema, FormatJSONObject or FormatText.
	// A provider that answers 400 to json_schema is downgraded to
	// json_object automatically (and a warning logged).
	ResponseFormat string
	Temperature    float32
	// MaxTokens caps the completion. UseMaxCompletionTokens sends it as
	// max_completion_tokens (OpenAI's current name) instead of max_tokens.
	MaxTokens              int
	UseMaxCompletionTokens bool
	// SendSeed passes RewriteRequest.Seed as the request's seed, where the
	// provider accepts it, so that shops get different but reproducible copy.
	SendSeed bool
	// StreamUsage asks streams for a final usage chunk
	// (stream_options.include_usage); without it usage is estimated.
	StreamUsage bool
	// PricePromptPer1K and PriceCompletionPer1K are USD per 1,000 tokens.
	PricePromptPer1K     float64
	PriceCompletionPer1K float64
	Limits
	// Prompts is the template set (nil: the embedded prompts.Default()).
	Prompts *prompts.Set
	// Cache stores results by everything that determines them (nil: none).
	Cache Cache
	// HTTPClient's transport is used under the header-capturing wrapper
	// (nil: http.DefaultTransport). Its Timeout should be 0: Limits.Timeout
	// bounds each attempt.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// OnUsage, if set, is called after every provider call that reported or
	// consumed tokens.
	OnUsage func(ctx context.Context, u Usage)
}

// Preset is a provider's endpoint and sensible defaults.
type Preset struct {
	Name    string
	BaseURL string
	// Model is the default chat model ("" where the deployment names it).
	Model                  string
	ResponseFormat         string
	Temperature            float32
	UseMaxCompletionTokens bool
	SendSeed               bool
	StreamUsage            bool
	// Prices in USD per 1,000 tokens for Model: the provider's list
	// prices, which change; set LLM_PRICE_* for your contract. Providers
	// that bill in CNY are converted at 7.2 CNY/USD.
	PricePromptPer1K, PriceCompletionPer1K float64
	// Concurrency and Timeout suit the provider (local servers are slower
	// and serve few requests at once).
	Concurrency int
	Timeout     time.Duration
	// EmbeddingModel, EmbeddingDimensions and EmbeddingPricePer1K are the
	// default embedder ("" where the provider has none).
	EmbeddingModel      string
	EmbeddingDimensions int
	// EmbeddingSendDimensions: the API accepts "dimensions".
	EmbeddingSendDimensions bool
	EmbeddingPricePer1K     float64
}

var presets = map[string]Preset{
	"openai": {
		Name: "openai", BaseURL: "https://api.openai.com/v1", Model: "gpt-4o-mini",
		ResponseFormat: FormatJSONSchema, Temperature: 0.7, UseMaxCompletionTokens: true, SendSeed: true, StreamUsage: true,
		PricePromptPer1K: 0.00015, PriceCompletionPer1K: 0.0006, Concurrency: 32, Timeout: 60 * time.Second,
		EmbeddingModel: "text-embedding-3-small", EmbeddingDimensions: 1536, EmbeddingSendDimensions: true, EmbeddingPricePer1K: 0.00002,
	},
	// DeepSeek: JSON Output is json_object only; its guide suggests
	// temperature 1.0 for data work and 1.3 for writing.
	"deepseek": {
		Name: "deepseek", BaseURL: "https://api.deepseek.com/v1", Model: "deepseek-chat",
		ResponseFormat: FormatJSONObject, Temperature: 1.0, StreamUsage: true,
		PricePromptPer1K: 0.00028, PriceCompletionPer1K: 0.00042, Concurrency: 32, Timeout: 90 * time.Second,
	},
	// Qwen on DashScope's OpenAI-compatible mode: json_object.
	"qwen": {
		Name: "qwen", BaseURL: "https://dashscope.aliyuncs.com/compatible-mode/v1", Model: "qwen-plus",
		ResponseFormat: FormatJSONObject, Temperature: 0.7, SendSeed: true, StreamUsage: true,
		PricePromptPer1K: 0.00011, PriceCompletionPer1K: 0.00028, Concurrency: 32, Timeout: 60 * time.Second,
		EmbeddingModel: "text-embedding-v3", EmbeddingDimensions: 1024, EmbeddingSendDimensions: true, EmbeddingPricePer1K: 0.0001,
	},
	// Doubao on Volcengine Ark: the model is the model id or endpoint id of
	// your account, so there is no default.
	"doubao": {
		Name: "doubao", BaseURL: "https://ark.cn-beijing.volces.com/api/v3",
		ResponseFormat: FormatJSONObject, Temperature: 0.7, StreamUsage: true,
		PricePromptPer1K: 0.00011, PriceCompletionPer1K: 0.00028, Concurrency: 32, Timeout: 60 * time.Second,
	},
	// Ollama on this machine: structured outputs through json_schema, no
	// price, one model loaded, so few concurrent calls and a long timeout.
	"ollama": {
		Name: "ollama", BaseURL: "http://localhost:11434/v1", Model: "qwen2.5:7b",
		ResponseFormat: FormatJSONSchema, Temperature: 0.7, SendSeed: true, StreamUsage: true,
		Concurrency: 2, Timeout: 180 * time.Second,
		EmbeddingModel: "nomic-embed-text", EmbeddingDimensions: 768,
	},
	// vLLM's OpenAI server: guided decoding serves json_schema; the model is
	// whatever it was started with.
	"vllm": {
		Name: "vllm", BaseURL: "http://localhost:8000/v1",
		ResponseFormat: FormatJSONSchema, Temperature: 0.7, SendSeed: true, StreamUsage: true,
		Concurrency: 64, Timeout: 120 * time.Second,
	},
}

// Presets lists the preset names, sorted.
func Presets() []string {
	var out []string
	for n := range presets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupPreset returns the named preset.
func LookupPreset(name string) (Preset, bool) {
	p, ok := presets[name]
	return p, ok
}

// DefaultConfig returns the "openai" preset without an API key.
func DefaultConfig() Config {
	cfg, _ := PresetConfig("openai")
	return cfg
}

// PresetConfig returns a Config with the preset's endpoint and defaults;
// set APIKey (and Model where the preset has none) before use.
func PresetConfig(name string) (Config, error) {
	p, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("openai: unknown provider %q (known: %v)", name, Presets())
	}
	l := defaultLimits()
	l.Concurrency, l.Timeout = p.Concurrency, p.Timeout
	return Config{
		Provider:               p.Name,
		BaseURL:                p.BaseURL,
		Model:                  p.Model,
		ResponseFormat:         p.ResponseFormat,
		Temperature:            p.Temperature,
		MaxTokens:              1024,
		UseMaxCompletionTokens: p.UseMaxCompletionTokens,
		SendSeed:               p.SendSeed,
		StreamUsage:            p.StreamUsage,
		PricePromptPer1K:       p.PricePromptPer1K,
		PriceCompletionPer1K:   p.PriceCompletionPer1K,
		Limits:                 l,
	}, nil
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	errs := validateEndpoint("openai", c.BaseURL, c.Model)
	switch c.ResponseFormat {
	case FormatJSONSchema, FormatJSONObject, FormatText:
	default:
		errs = append(errs, fmt.Errorf("openai: ResponseFormat %q must be %s, %s or %s", c.ResponseFormat, FormatJSONSchema, FormatJSONObject, FormatText))
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		errs = append(errs, fmt.Errorf("openai: Temperature %.2f not in [0, 2]", c.Temperature))
	}
	if c.MaxTokens < 64 {
		errs = append(errs, errors.New("openai: MaxTokens must be at least 64"))
	}
	if c.PricePromptPer1K < 0 || c.PriceCompletionPer1K < 0 {
		errs = append(errs, errors.New("openai: prices must not be negative"))
	}
	errs = append(errs, c.Limits.validate("openai")...)
	return errors.Join(errs...)
}

func validateEndpoint(prefix, baseURL, model string) []error {
	var errs []error
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: BaseURL %q must be an absolute http or https URL", prefix, baseURL))
	}
	if model == "" {
		errs = append(errs, fmt.Errorf("%s: Model is required", prefix))
	}
	return errs
}

// EmbedderConfig configures the Embedder.
type EmbedderConfig struct {
	Provider string
	BaseURL  string
	APIKey   string
	Model    string
	// Dimensions is the vector length the store expects; every returned
	// vector is checked against it. SendDimensions asks the API for it
	// (text-embedding-3 and text-embedding-v3 accept "dimensions").
	Dimensions     int
	SendDimensions bool
	// BatchSize bounds the texts per request.
	BatchSize int
	// CacheSize is how many texts' vectors are kept in memory (0: none).
	CacheSize  int
	PricePer1K float64
	Limits
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	OnUsage    func(ctx context.Context, u Usage)
}

// EmbedderPresetConfig returns the preset's embedder; providers without
// one (deepseek) are an error, and doubao and vllm need Model and
// Dimensions set.
func EmbedderPresetConfig(name string) (EmbedderConfig, error) {
	p, ok := presets[name]
	if !ok {
		return EmbedderConfig{}, fmt.Errorf("openai: unknown provider %q (known: %v)", name, Presets())
	}
	if name == "deepseek" {
		return EmbedderConfig{}, errors.New("openai: deepseek has no embeddings API; use another EMBEDDING_PROVIDER or the hashing embedder")
	}
	l := defaultLimits()
	l.Concurrency, l.Timeout = p.Concurrency, p.Timeout
	return EmbedderConfig{
		Provider: p.Name, BaseURL: p.BaseURL, Model: p.EmbeddingModel, Dimensions: p.EmbeddingDimensions,
		SendDimensions: p.EmbeddingSendDimensions, BatchSize: 64, CacheSize: 10_000, PricePer1K: p.EmbeddingPricePer1K, Limits: l,
	}, nil
}

// Validate reports every problem with the config at once.
func (c EmbedderConfig) Validate() error {
	errs := validateEndpoint("openai embedder", c.BaseURL, c.Model)
	if c.Dimensions < 1 || c.Dimensions > 16384 {
		errs = append(errs, fmt.Errorf("openai embedder: Dimensions %d not in [1, 16384]", c.Dimensions))
	}
	if c.BatchSize < 1 || c.BatchSize > 2048 {
		errs = append(errs, fmt.Errorf("openai embedder: BatchSize %d not in [1, 2048]", c.BatchSize))
	}
	if c.CacheSize < 0 {
		errs = append(errs, errors.New("openai embedder: CacheSize must not be negative"))
	}
	if c.PricePer1K < 0 {
		errs = append(errs, errors.New("openai embedder: PricePer1K must not be negative"))
	}
	errs = append(errs, c.Limits.validate("openai embedder")...)
	return errors.Join(errs...)
}
