package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The queue hook and the pipeline observer show up in the exposition.
func TestMetricsHooks(t *testing.T) {
	t.Parallel()
	m := New()
	m.RegisterQueue(func() float64 { return 7 }, func() float64 { return 42 })
	m.StepDone("rewrite", 30*time.Millisecond, nil)
	m.StepDone("save", time.Millisecond, errors.New("db down"))
	m.ImageError("forbidden")
	m.RegisterModel("chat", func() ModelStats { return ModelStats{Calls: 3, Status429: 1, PromptTokens: 100} })
	m.RegisterVectorCache(VectorCacheGauges{Used: func() float64 { return 1 << 20 }, Max: func() float64 { return 512 << 20 },
		File: func() float64 { return 4 << 20 }, Failures: func() float64 { return 0 }})
	want := `
# HELP listinggen_vector_cache_bytes Bytes of memory the vector cache holds for similarity search (int8 codes, ids).
# TYPE listinggen_vector_cache_bytes gauge
listinggen_vector_cache_bytes 1.048576e+06
# HELP listinggen_queue_depth Job items waiting to run.
# TYPE listinggen_queue_depth gauge
listinggen_queue_depth 7
# HELP listinggen_queue_oldest_age_seconds Age of the oldest waiting job item.
# TYPE listinggen_queue_oldest_age_seconds gauge
listinggen_queue_oldest_age_seconds 42
# HELP listinggen_image_errors_total Source images that could not be used, by error code (fetch, decode, limits).
# TYPE listinggen_image_errors_total counter
listinggen_image_errors_total{code="forbidden"} 1
# HELP listinggen_model_429_total 429 answers from the model provider.
# TYPE listinggen_model_429_total counter
listinggen_model_429_total{client="chat"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"listinggen_queue_depth", "listinggen_queue_oldest_age_seconds", "listinggen_image_errors_total", "listinggen_model_429_total",
		"listinggen_vector_cache_bytes"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.steps); n != 2 {
		t.Errorf("%d step series, want 2 (rewrite ok, save error)", n)
	}
}

// Recovered items show one counter per reason, zeros included, and the
// live workers a gauge.
func TestRecoveryMetrics(t *testing.T) {
	t.Parallel()
	m := New()
	m.RegisterRecovery([]string{"restart", "lease_expired", "rescued"}, func() RecoveryStats {
		return RecoveryStats{Recovered: map[string]float64{"lease_expired": 4}, Workers: 2}
	})
	want := `
# HELP listinggen_job_items_recovered_total Job items taken back from a worker that stopped, by reason: restart (the embedded store's previous process), lease_expired, rescued (JOB_RESCUE_AFTER).
# TYPE listinggen_job_items_recovered_total counter
listinggen_job_items_recovered_total{reason="lease_expired"} 4
listinggen_job_items_recovered_total{reason="rescued"} 0
listinggen_job_items_recovered_total{reason="restart"} 0
# HELP listinggen_workers_live Worker processes whose lease is live (renewed within JOB_LEASE).
# TYPE listinggen_workers_live gauge
listinggen_workers_live 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "listinggen_job_items_recovered_total", "listinggen_workers_live"); err != nil {
		t.Error(err)
	}
}
