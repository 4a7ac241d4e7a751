// Package metrics is the Prometheus observer of the server: HTTP requests,
// pipeline steps, image errors, model clients, the job queue and the vector
// cache, on a registry of its own. Labels are bounded: routes are templates
// ("/v1/listings/:id"), never raw paths, and no label carries a tenant or a
// key.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the measurements the server exports at /metrics.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	steps       *prometheus.HistogramVec
	imageErrors *prometheus.CounterVec
}

// New registers the server's metrics, the Go runtime's and the
// process's on a registry of their own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "listinggen_http_request_duration_seconds", Help: "HTTP request latency by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "route", "status"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "listinggen_pipeline_step_duration_seconds", Help: "Pipeline step duration by step and outcome (ok or error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"step", "outcome"}),
		imageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "listinggen_image_errors_total", Help: "Source images that could not be used, by error code (fetch, decode, limits).",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.requests, m.steps, m.imageErrors,
		// The GC's runtime metrics add go_gc_heap_live_bytes: the heap live
		// after the last collection, the figure a leak moves.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where other parts (the model client, the job queue) add
// their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// StepDone records a pipeline step's duration and outcome.
func (m *Metrics) StepDone(step string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.steps.WithLabelValues(step, outcome).Observe(d.Seconds())
}

// ImageError counts a source image that could not be used.
func (m *Metrics) ImageError(code string) { m.imageErrors.WithLabelValues(code).Inc() }

// ModelStats are a model client's running totals, read at each scrape.
type ModelStats struct {
	Calls, Retries, Status429, Failures, BreakerRejected int64
	PromptTokens, CompletionTokens                       int64
	CostUSD                                              float64
}

// RegisterModel exports a model client's totals under client="name"
// (for example "chat" and "embeddings").
func (m *Metrics) RegisterModel(name string, stats func() ModelStats) {
	labels := prometheus.Labels{"client": name}
	counter := func(metric, help string, v func(ModelStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metric, Help: help, ConstLabels: labels},
			func() float64 { return v(stats()) })
	}
	m.reg.MustRegister(
		counter("listinggen_model_calls_total", "HTTP attempts sent to the model provider, retries included.", func(s ModelStats) float64 { return float64(s.Calls) }),
		counter("listinggen_model_retries_total", "Model calls retried.", func(s ModelStats) float64 { return float64(s.Retries) }),
		counter("listinggen_model_429_total", "429 answers from the model provider.", func(s ModelStats) float64 { return float64(s.Status429) }),
		counter("listinggen_model_errors_total", "Model calls that failed after their retries (or at once, breaker open).", func(s ModelStats) float64 { return float64(s.Failures) }),
		counter("listinggen_model_breaker_rejected_total", "Model calls refused by the open circuit breaker.", func(s ModelStats) float64 { return float64(s.BreakerRejected) }),
		counter("listinggen_model_prompt_tokens_total", "Prompt tokens the provider counted.", func(s ModelStats) float64 { return float64(s.PromptTokens) }),
		counter("listinggen_model_completion_tokens_total", "Completion tokens the provider counted.", func(s ModelStats) float64 { return float64(s.CompletionTokens) }),
		counter("listinggen_model_cost_usd_total", "Model spend in USD at the configured prices.", func(s ModelStats) float64 { return s.CostUSD }),
	)
}

// RegisterQueue exports a job queue's depth (items waiting) and the age of
// its oldest waiting item, read at each scrape: the hook the batch-job
// worker fills.
func (m *Metrics) RegisterQueue(depth func() float64, oldestAgeSeconds func() float64) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "listinggen_queue_depth", Help: "Job items waiting to run."}, depth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "listinggen_queue_oldest_age_seconds", Help: "Age of the oldest waiting job item."}, oldestAgeSeconds),
	)
}

// RecoveryStats are the store-wide counts behind the recovery metrics,
// read at each scrape.
type RecoveryStats struct {
	// Recovered counts the job items ever taken back from a stopped worker,
	// by reason (restart, lease_expired, rescued).
	Recovered map[string]float64
	// Workers counts the worker processes whose lease is live.
	Workers float64
}

// RegisterRecovery exports the items taken back from stopped workers and
// the live workers: the store's counts, so that every server shows what
// any worker process recovered.
func (m *Metrics) RegisterRecovery(reasons []string, stats func() RecoveryStats) {
	m.reg.MustRegister(&recoveryCollector{reasons: reasons, stats: stats},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "listinggen_workers_live", Help: "Worker processes whose lease is live (renewed within JOB_LEASE)."},
			func() float64 { return stats().Workers }))
}

var recoveredDesc = prometheus.NewDesc("listinggen_job_items_recovered_total",
	"Job items taken back from a worker that stopped, by reason: restart (the embedded store's previous process), lease_expired, rescued (JOB_RESCUE_AFTER).",
	[]string{"reason"}, nil)

// recoveryCollector reports one counter per reason, zeros included, from
// one read of the store.
type recoveryCollector struct {
	reasons []string
	stats   func() RecoveryStats
}

func (c *recoveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- recoveredDesc }

func (c *recoveryCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, r := range c.reasons {
		ch <- prometheus.MustNewConstMetric(recoveredDesc, prometheus.CounterValue, st.Recovered[r], r)
	}
}

// VectorCacheGauges read the store's in-process vector cache at each
// scrape.
type VectorCacheGauges struct {
	// Used and Max are its memory and cap; File is the size of its file of
	// exact vectors; Failures counts the tenants' sets it gave up on
	// because that file failed (their queries go to SQL).
	Used, Max, File, Failures func() float64
}

// RegisterVectorCache exports the store's in-process vector cache.
func (m *Metrics) RegisterVectorCache(g VectorCacheGauges) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "listinggen_vector_cache_bytes", Help: "Bytes of memory the vector cache holds for similarity search (int8 codes, ids)."}, g.Used),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "listinggen_vector_cache_max_bytes", Help: "The vector cache's cap on memory (VECTOR_CACHE_MB)."}, g.Max),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "listinggen_vector_cache_file_bytes", Help: "Bytes of the vector cache's file of exact vectors (VECTOR_CACHE_DIR)."}, g.File),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "listinggen_vector_cache_failures_total", Help: "Tenants' vector sets given up on because the exact vectors' file failed; their queries go to SQL."}, g.Failures),
	)
}

// ObserveRequest records one HTTP request by method, route template and
// final status.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
