package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/api"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/jobs"
	"github.com/listinggen/listinggen/metrics"
	"github.com/listinggen/listinggen/openai"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/postgres"
	"github.com/listinggen/listinggen/rules"
	"github.com/listinggen/listinggen/sqlite"
	"github.com/listinggen/listinggen/usage"
)

// commonConfig is what every command that touches the store needs.
type commonConfig struct {
	databaseURL *string
	dataDir     *string
	logLevel    *string
	logFormat   *string
	vectorCache *string
	vectorDir   *string
	efSearch    *string
	// pgIdleInTx, when set, is the PostgreSQL store's
	// IdleInTransactionTimeout (see openOwned).
	pgIdleInTx time.Duration
}

func bindCommon(f *envflag.FlagSet) commonConfig {
	return commonConfig{
		databaseURL: f.String("database-url", "DATABASE_URL", "", "PostgreSQL (with pgvector) to use instead of the embedded SQLite store, e.g. postgres://user@host:5432/db"),
		dataDir:     f.String("data-dir", "DATA_DIR", "./data", "directory for the SQLite database and files"),
		logLevel:    f.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error"),
		logFormat:   f.String("log-format", "LOG_FORMAT", "text", "text or json"),
		vectorCache: f.String("vector-cache-mb", "VECTOR_CACHE_MB", "512", "MiB of memory each process gives its copy of listing vectors for exact dedup queries (0: off)"),
		vectorDir:   f.String("vector-cache-dir", "VECTOR_CACHE_DIR", "", "directory for the vector cache's file of exact vectors (default: the data directory; with PostgreSQL the system's temporary directory)"),
		efSearch:    f.String("hnsw-ef-search", "HNSW_EF_SEARCH", strconv.Itoa(postgres.DefaultConfig().HNSW.EfSearch), "PostgreSQL: HNSW candidate list size for tenant-wide similarity queries, 1-1000 (higher: better recall, slower)"),
	}
}

func (c commonConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*c.logLevel)); err != nil {
		return nil, fmt.Errorf("log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(*c.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format: want text or json, got %q", *c.logFormat)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// openStore opens the configured store, applying migrations: PostgreSQL
// when a database URL is set, the embedded SQLite store otherwise. River's
// own migrations (its queue tables) run right after the store's, here in
// cmd because the stores do not know River; `listinggen migrate` runs both.
func (c commonConfig) openStore(ctx context.Context, logger *slog.Logger) (listinggen.Store, error) {
	cacheMB, err := strconv.ParseInt(*c.vectorCache, 10, 64)
	if err != nil || cacheMB < 0 || cacheMB > 1<<20 {
		return nil, fmt.Errorf("vector-cache-mb: want a whole number of MiB from 0 to %d, got %q", 1<<20, *c.vectorCache)
	}
	if dir := *c.vectorDir; dir != "" {
		// The cache creates its file on first use; a directory it cannot
		// write would only show as every query falling back to SQL.
		f, err := os.CreateTemp(dir, "listinggen-probe-*")
		if err != nil {
			return nil, fmt.Errorf("vector-cache-dir: %w", err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	efSearch, err := strconv.Atoi(*c.efSearch)
	if err != nil || efSearch < 1 || efSearch > 1000 {
		return nil, fmt.Errorf("hnsw-ef-search: want a whole number from 1 to 1000, got %q", *c.efSearch)
	}
	if *c.databaseURL != "" {
		cfg := postgres.DefaultConfig()
		cfg.URL = *c.databaseURL
		cfg.VectorCacheBytes, cfg.VectorCacheDir = cacheMB<<20, *c.vectorDir
		cfg.HNSW.EfSearch = efSearch
		if c.pgIdleInTx > 0 {
			cfg.IdleInTransactionTimeout = c.pgIdleInTx
		}
		s, err := postgres.Open(ctx, cfg, time.Now, newID)
		if err != nil {
			return nil, fmt.Errorf("database-url: %w", err)
		}
		if err := jobs.MigratePostgres(ctx, s.Pool()); err != nil {
			s.Close()
			return nil, err
		}
		logger.Info("store ready", "backend", "postgres")
		return s, nil
	}
	if err := os.MkdirAll(*c.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data-dir: %w", err)
	}
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(*c.dataDir, "listinggen.db")
	cfg.VectorCacheBytes, cfg.VectorCacheDir = cacheMB<<20, *c.vectorDir
	s, err := sqlite.Open(ctx, cfg, time.Now, newID)
	if err != nil {
		return nil, err
	}
	if err := jobs.MigrateSQLite(ctx, s.WriterDB()); err != nil {
		s.Close()
		return nil, err
	}
	logger.Info("store ready", "backend", "sqlite", "path", cfg.Path)
	return s, nil
}

// open makes the logger and opens the store: what a command that works on
// the store does first.
func (c commonConfig) open(ctx context.Context, stderr io.Writer) (listinggen.Store, error) {
	logger, err := c.logger(stderr)
	if err != nil {
		return nil, err
	}
	return c.openStore(ctx, logger)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := envflag.New("migrate", getenv, stderr)
	common := bindCommon(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	s, err := common.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// parseDrain reads SHUTDOWN_TIMEOUT: how long work in progress may take to
// finish after SIGINT or SIGTERM.
func parseDrain(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("shutdown-timeout: want a positive duration such as 30s, got %q", s)
	}
	return d, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := envflag.New("serve", getenv, stderr)
	common := bindCommon(f)
	addr := f.String("addr", "LISTEN_ADDR", "127.0.0.1:8080", "address to listen on")
	shutdownTimeout := f.String("shutdown-timeout", "SHUTDOWN_TIMEOUT", "30s", "how long in-flight requests may take to finish on shutdown")
	queueFlags := bindQueue(f, "4")
	if err := f.Parse(args); err != nil {
		return err
	}
	logger, err := common.logger(stderr)
	if err != nil {
		return err
	}
	drain, err := parseDrain(*shutdownTimeout)
	if err != nil {
		return err
	}

	apiCfg, timeouts, err := serverConfig(getenv)
	if err != nil {
		return err
	}
	qcfg, err := queueFlags.config(logger)
	if err != nil {
		return err
	}
	store, lock, err := common.openOwned(ctx, logger, qcfg.Lease)
	if err != nil {
		return err
	}
	defer lock.Release()
	defer store.Close()
	if apiCfg.Open, err = safeDefault(ctx, store, *addr, logger); err != nil {
		return err
	}
	obs := metrics.New()
	registerQueueGauges(obs, store, logger)
	registerRecoveryMetrics(obs, store, logger)
	registerVectorCacheGauges(obs, store)
	svc, err := buildPipeline(store, *common.dataDir, getenv, logger, obs)
	if err != nil {
		return err
	}
	defer svc.close(logger) // after the HTTP server and the workers: the last calls are booked
	queue, jobService, err := openJobs(store, svc, qcfg)
	if err != nil {
		return err
	}
	handler, err := buildServer(store, svc, jobService, apiCfg, obs, logger)
	if err != nil {
		return err
	}
	if err := recoverAtStart(ctx, lock, queue, logger); err != nil {
		return err
	}
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("workers: %w", err)
	}
	logger.Info("batch workers", "workers", qcfg.Workers)
	defer stopQueue(queue, drain, logger)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: timeouts.readHeader,
		ReadTimeout:       timeouts.read,
		WriteTimeout:      timeouts.write,
		IdleTimeout:       timeouts.idle,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", "http://"+ln.Addr().String(), "open", apiCfg.Open,
		"read_header_timeout", timeouts.readHeader, "write_timeout", timeouts.write)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// services is what serve, worker and batch build over a store.
type services struct {
	pipeline *pipeline.Pipeline
	blobs    listinggen.BlobStore
	// estimator prices items for dry runs (nil with the rules rewriter).
	estimator jobs.Estimator
	// ledger books every model call's cost; close flushes it.
	ledger *usage.Ledger
}

// close flushes the spending ledger: call it after the work that calls the
// model has stopped.
func (s *services) close(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.ledger.Close(ctx); err != nil {
		logger.Error("usage ledger: final flush failed", "err", err)
	}
}

// buildPipeline wires the pipeline over a store: the rules rewriter and
// the hashing embedder unless LLM_* and EMBEDDING_* configure a model, in
// which case the rules rewriter is the model's fallback. obs, when not
// nil (serve), observes the steps and the model clients.
func buildPipeline(store listinggen.Store, dataDir string, getenv func(string) string, logger *slog.Logger, obs *metrics.Metrics) (*services, error) {
	checker, err := compliance.New()
	if err != nil {
		return nil, err
	}
	rulesRewriter, err := rules.New(checker)
	if err != nil {
		return nil, err
	}
	cfg := pipeline.Config{
		Store: store, Rewriter: rulesRewriter, Checker: checker,
		Dedup: dedup.DefaultConfig(), Logger: logger, Now: time.Now, TenantWords: store.TenantWords,
	}
	if obs != nil {
		cfg.Observer = obs
	}
	svc := &services{ledger: usage.New(store, usage.DefaultInterval, logger, time.Now)}
	onUsage := func(ctx context.Context, u openai.Usage) {
		svc.ledger.Add(ctx, u.Model, u.Op, u.PromptTokens, u.CompletionTokens, u.CostUSD)
	}
	fail := func(err error) (*services, error) {
		svc.close(logger)
		return nil, err
	}
	llm, err := llmRewriter(getenv, logger, onUsage, sharedLimiterFor(store))
	if err != nil {
		return fail(err)
	}
	if llm != nil {
		cfg.Rewriter, cfg.Fallback = llm, rulesRewriter
		svc.estimator = llm
		if obs != nil {
			obs.RegisterModel("chat", func() metrics.ModelStats { return modelStats(llm.Stats()) })
		}
	}
	switch v := getenv("DEDUP_CONFIRM"); v {
	case "", "off":
	case "llm":
		if llm == nil {
			return fail(errors.New("DEDUP_CONFIRM=llm needs LLM_PROVIDER or LLM_BASE_URL"))
		}
		cfg.Confirmer = llm.Confirmer(10_000)
		logger.Info("dedup: borderline matches get a second opinion", "model", cfg.Confirmer.Model())
	default:
		return fail(fmt.Errorf("DEDUP_CONFIRM=%q: want off or llm", v))
	}
	blobs, proc, err := imageStage(dataDir, getenv, logger)
	if err != nil {
		return fail(err)
	}
	if proc != nil {
		cfg.Images = proc
	}
	svc.blobs = blobs
	if cfg.Embedder, err = apiEmbedder(getenv, logger, onUsage, sharedLimiterFor(store)); err != nil {
		return fail(err)
	}
	if e, ok := cfg.Embedder.(interface{ Stats() openai.Stats }); ok && obs != nil {
		obs.RegisterModel("embeddings", func() metrics.ModelStats { return modelStats(e.Stats()) })
	}
	if cfg.Embedder == nil {
		if cfg.Embedder, err = hashembed.New(hashembed.DefaultConfig()); err != nil {
			return fail(err)
		}
	}
	if svc.pipeline, err = pipeline.New(cfg); err != nil {
		return fail(err)
	}
	return svc, nil
}

// buildServer is the HTTP layer over the services and the job service.
func buildServer(store listinggen.Store, svc *services, jobService api.JobService, apiCfg api.Config, obs *metrics.Metrics, logger *slog.Logger) (http.Handler, error) {
	spec, err := api.LoadSpec(listinggen.OpenAPISpec)
	if err != nil {
		return nil, err
	}
	return api.NewServer(apiCfg, api.Deps{Store: store, Pipeline: svc.pipeline, Spec: spec, Logger: logger,
		Blobs: svc.blobs, Metrics: obs, Jobs: jobService})
}
