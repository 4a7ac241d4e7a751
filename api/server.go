// Package api is the HTTP layer: routes, handlers and the middleware that
// validates requests against openapi.yaml and writes errors as RFC 9457
// problem+json.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/api/web"
	"github.com/listinggen/listinggen/metrics"
	"github.com/listinggen/listinggen/pipeline"
)

// Config holds the HTTP layer's limits.
type Config struct {
	// BodyLimit caps request bodies; larger ones get 413 before any work.
	BodyLimit int64
	// UploadLimit caps the body of an image upload (POST /v1/images).
	UploadLimit int64
	// RequestTimeout bounds each request's context.
	RequestTimeout time.Duration
	// MaxShopsPerGenerate bounds the synchronous fan-out of /v1/generate.
	MaxShopsPerGenerate int
	// Open lets requests without a key run as the default tenant while no
	// active key exists. Only cmd sets it, and only on a loopback address.
	Open bool
	// RateLimit is each API key's token bucket.
	RateLimit RateLimit
	// TrustedProxies are the networks whose X-Forwarded-For is believed;
	// empty means the client address is the connection's peer, always.
	TrustedProxies []*net.IPNet
	// ModelConcurrency bounds the requests running the pipeline (model
	// and image work) at once; the rest wait, within their deadline.
	ModelConcurrency int
	// IdempotencyTTL is how long an Idempotency-Key's response is kept.
	IdempotencyTTL time.Duration
	// JobJSONLimit and JobUploadLimit cap POST /v1/jobs with JSON items
	// and with a catalogue file; JobSubmitTimeout replaces RequestTimeout
	// there, since a large catalogue takes minutes to commit.
	JobJSONLimit, JobUploadLimit int64
	JobSubmitTimeout             time.Duration
	// UI configures the preview UI (api/web) served at / and /ui/.
	UI web.Config
}

// DefaultConfig returns the limits `listinggen serve` uses.
func DefaultConfig() Config {
	return Config{BodyLimit: 1 << 20, UploadLimit: 20<<20 + 64<<10, RequestTimeout: 60 * time.Second, MaxShopsPerGenerate: 20,
		RateLimit: RateLimit{PerSecond: 20, Burst: 40}, ModelConcurrency: 64, IdempotencyTTL: 24 * time.Hour,
		JobJSONLimit: 32 << 20, JobUploadLimit: 1 << 30, JobSubmitTimeout: 30 * time.Minute, UI: web.DefaultConfig()}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.BodyLimit < 1024 || c.UploadLimit < c.BodyLimit {
		errs = append(errs, errors.New("api: BodyLimit must be at least 1 KiB and UploadLimit at least BodyLimit"))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("api: RequestTimeout must be positive"))
	}
	if c.JobJSONLimit < c.BodyLimit || c.JobUploadLimit < c.JobJSONLimit || c.JobSubmitTimeout < c.RequestTimeout {
		errs = append(errs, errors.New("api: job limits must be at least the body limit and the request timeout"))
	}
	if c.MaxShopsPerGenerate < 1 {
		errs = append(errs, errors.New("api: MaxShopsPerGenerate must be at least 1"))
	}
	if c.RateLimit.PerSecond < 0 || c.RateLimit.PerSecond > 0 && c.RateLimit.Burst < 1 {
		errs = append(errs, errors.New("api: RateLimit.PerSecond must not be negative, and Burst must be at least 1 when limiting"))
	}
	if c.ModelConcurrency < 1 {
		errs = append(errs, errors.New("api: ModelConcurrency must be at least 1"))
	}
	if c.IdempotencyTTL < time.Minute {
		errs = append(errs, errors.New("api: IdempotencyTTL must be at least a minute"))
	}
	errs = append(errs, c.UI.Validate())
	return errors.Join(errs...)
}

// Deps are the server's collaborators.
type Deps struct {
	Store listinggen.Store
	// Blobs serves image variants.
	Blobs    listinggen.BlobStore
	Pipeline *pipeline.Pipeline
	// Jobs runs batch jobs (nil: the /v1/jobs routes answer 503).
	Jobs   JobService
	Spec   *Spec
	Logger *slog.Logger
	// Metrics, when set, records request metrics and serves /metrics.
	Metrics *metrics.Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Keys, when set, makes the preview UI ask for an API key at sign-in
	// when a request has no tenant (no open mode, no session); NewServer
	// sets it from the store's keys when none is given.
	Keys web.KeyVerifier
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg    Config
	deps   Deps
	scopes routeScopes
	now    func() time.Time
	// pipelineSlots bounds concurrent pipeline runs (ModelConcurrency).
	pipelineSlots chan struct{}
}

// NewServer builds the echo instance with every route and middleware.
func NewServer(cfg Config, deps Deps) (*echo.Echo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Pipeline == nil || deps.Spec == nil || deps.Logger == nil {
		return nil, errors.New("api: Store, Pipeline, Spec and Logger are required")
	}
	s := &Server{cfg: cfg, deps: deps, scopes: routeScopes{}, now: deps.Now, pipelineSlots: make(chan struct{}, cfg.ModelConcurrency)}
	if s.now == nil {
		s.now = time.Now
	}
	if deps.Keys == nil {
		deps.Keys = keyVerifier{deps.Store}
	}
	ui, err := web.New(cfg.UI, web.Deps{Store: deps.Store, Rules: deps.Pipeline.ShopRules, Keys: deps.Keys, Jobs: deps.Jobs, Logger: deps.Logger})
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(deps.Logger)
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	e.Use(middleware.RequestID())
	e.Use(requestLogger(deps.Logger))
	e.Use(recoverer(deps.Logger))
	if deps.Metrics != nil {
		e.Use(s.metricsMiddleware)
	}
	e.Use(limitBody(s.bodyLimit))
	e.Use(withTimeout(s.timeout))
	// Before authentication: it refuses cross-site and token-less browser
	// requests and turns a UI session into the key the API checks.
	e.Use(ui.Guard)
	e.Use(newAuthenticator(deps.Store, cfg.Open, s.now).middleware(s.scopes))
	e.Use(newKeyLimiter(cfg.RateLimit, s.now).middleware)
	e.Use(validateRequests(deps.Spec, s.bodyLimit, isUpload))
	s.routes(e)
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/v1/") && s.scopes[routeKey(r.Method, r.Path)] == "" {
			return nil, fmt.Errorf("api: route %s %s has no scope: register /v1 routes with Server.handle", r.Method, r.Path)
		}
	}
	ui.Register(e)
	return e, nil
}

// clientIP takes the client's address from the connection, or from
// X-Forwarded-For only when the peer is a configured trusted proxy: any
// client can write that header.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// withPipelineSlot runs fn once a pipeline slot is free, so that at most
// ModelConcurrency requests do model and image work at once; a request
// that cannot get one before its deadline gets 503.
func (s *Server) withPipelineSlot(c echo.Context, fn func() error) error {
	select {
	case s.pipelineSlots <- struct{}{}:
	case <-c.Request().Context().Done():
		c.Response().Header().Set("Retry-After", "5")
		return listinggen.Errorf(listinggen.EUNAVAILABLE, "the server is at its limit of %d concurrent generations; retry later", cap(s.pipelineSlots))
	}
	defer func() { <-s.pipelineSlots }()
	return fn()
}

// bodyLimit is the byte limit for a request's body: uploads get more.
func (s *Server) bodyLimit(r *http.Request) int64 {
	switch {
	case r.URL.Path == "/v1/images":
		return s.cfg.UploadLimit
	case isUpload(r):
		return s.cfg.JobUploadLimit
	case isJobSubmit(r):
		return s.cfg.JobJSONLimit
	}
	return s.cfg.BodyLimit
}

func isJobSubmit(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/v1/jobs"
}

// isUpload is a catalogue file: streamed to the handler (net/http spools
// it to disk), not read into memory for validation.
func isUpload(r *http.Request) bool {
	return isJobSubmit(r) && strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm)
}

func (s *Server) timeout(r *http.Request) time.Duration {
	if isJobSubmit(r) {
		return s.cfg.JobSubmitTimeout
	}
	return s.cfg.RequestTimeout
}

// limitBody refuses a declared length over the limit with 413 before
// reading, and caps what is read of an undeclared one.
func limitBody(limit func(*http.Request) int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			n := limit(req)
			if req.ContentLength > n {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
			}
			if req.Body != nil {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, n)
			}
			return next(c)
		}
	}
}

// requestLogger logs one structured line per request with its request id.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true, LogRemoteIP: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", v.RequestID), slog.String("method", v.Method), slog.String("uri", v.URI),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency), slog.String("remote_ip", v.RemoteIP))
			return nil
		},
	})
}

// recoverer turns a handler panic into a 500 problem and a logged stack,
// instead of a dropped connection.
func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.Error("panic", "err", err, "stack", string(stack), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return listinggen.WrapError(listinggen.EINTERNAL, err, "internal error")
		},
	})
}

func withTimeout(d func(*http.Request) time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d(c.Request()))
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

func tenant(c echo.Context) string {
	t, _ := c.Get("tenant").(string)
	return t
}
