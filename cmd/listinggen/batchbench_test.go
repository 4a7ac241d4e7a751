package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/listinggen/listinggen/internal/benchinfo"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/pgtest"
)

// TestBatchBench is `make bench`'s batch figure (BATCH_BENCH=1; size
// BATCH_BENCH_N, default 100000): the batch command as a child process
// over N products × 1 shop with the fake LLM at zero latency, on the
// embedded store and (with TEST_DATABASE_URL) PostgreSQL, or those
// BATCH_BENCH_BACKENDS names (sqlite,postgres). It prints
// items/s against the same run's dry run (import and commit only, the
// baseline), peak RSS at N against N/10 (flat memory: ≤ 1.5), and on
// PostgreSQL the throughput of 2 worker processes against 1 with a 200 ms
// model.
func TestBatchBench(t *testing.T) {
	n := benchSize(t, "BATCH_BENCH", "BATCH_BENCH_N", 100_000)
	fmt.Println(benchinfo.Line())
	fake := openaitest.New(openaitest.Config{})
	defer fake.Close()
	backends := []string{"sqlite"}
	if pgtest.Available(t) {
		backends = append(backends, "postgres")
	}
	if v := os.Getenv("BATCH_BENCH_BACKENDS"); v != "" {
		backends = strings.Split(v, ",")
	}
	for _, backend := range backends {
		_, smallRSS, smallLog := benchRunLog(t, backend, fake.URL(), n/10, "false", 1)
		large, largeRSS, largeLog := benchRunLog(t, backend, fake.URL(), n, "false", 1)
		dry, _ := benchRun(t, backend, fake.URL(), n, "true", 1)
		fmt.Printf("batch %-8s %7d items  %7.0f items/s  %.2fx the dry-run import (%.0f items/s)\n", backend, n, float64(n)/large.Seconds(), dry.Seconds()/large.Seconds(), float64(n)/dry.Seconds())
		fmt.Printf("batch %-8s peak RSS %d MiB at %d items, %d MiB at %d: ratio %.2f (target <= 1.5)\n", backend, largeRSS>>10, n, smallRSS>>10, n/10, float64(largeRSS)/float64(smallRSS))
		// The vector cache is the dedup index, one vector per listing by
		// design; what the batch itself holds is the rest.
		smallCache, largeCache := vectorCacheMiB(t, smallLog), vectorCacheMiB(t, largeLog)
		fmt.Printf("batch %-8s vector cache %d MiB at %d items, %d MiB at %d; peak RSS without it %d MiB and %d MiB: ratio %.2f\n", backend,
			largeCache, n, smallCache, n/10, largeRSS>>10-largeCache, smallRSS>>10-smallCache, float64(largeRSS>>10-largeCache)/float64(smallRSS>>10-smallCache))
	}
	if slices.Contains(backends, "postgres") {
		slow := openaitest.New(openaitest.Config{LatencyMin: 200 * time.Millisecond, LatencyMax: 200 * time.Millisecond})
		defer slow.Close()
		// The job's own throughput (finished items over the time since the
		// first claim), so that process start and import do not count.
		m := 800
		one := jobRate(t, "postgres", slow.URL(), m, 1)
		two := jobRate(t, "postgres", slow.URL(), m, 2)
		fmt.Printf("batch postgres %d items with a 200 ms model, 8 workers a process: 1 process %.1f items/s, 2 processes %.1f items/s: ratio %.2f (target >= 1.7)\n",
			m, one, two, two/one)
	}
}

// benchSize skips a benchmark test unless the variable on is set (make
// bench sets it), and returns the size the variable size asks for, or def.
func benchSize(t *testing.T, on, size string, def int) int {
	t.Helper()
	if os.Getenv(on) == "" {
		t.Skipf("%s not set (make bench sets it)", on)
	}
	if v := os.Getenv(size); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("%s=%q: want a whole number of at least 10", size, v)
		}
		return n
	}
	return def
}

var (
	lastRate       = regexp.MustCompile(`([0-9.]+) items/s`)
	vectorCacheUse = regexp.MustCompile(`vector cache ([0-9]+) MiB`)
)

// vectorCacheMiB is the vector cache's size the batch's memory line gave.
func vectorCacheMiB(t *testing.T, stderr string) int64 {
	t.Helper()
	m := vectorCacheUse.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no memory line:\n%s", stderr)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// jobRate is the items/s the batch's last progress line reported.
func jobRate(t *testing.T, backend, llmURL string, n, procs int) float64 {
	t.Helper()
	_, _, stderr := benchRunLog(t, backend, llmURL, n, "false", procs)
	m := lastRate.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		t.Fatalf("no progress line:\n%s", stderr)
	}
	rate, _ := strconv.ParseFloat(m[len(m)-1][1], 64)
	return rate
}

func benchRun(t *testing.T, backend, llmURL string, n int, dryRun string, procs int) (time.Duration, int64) {
	d, rss, _ := benchRunLog(t, backend, llmURL, n, dryRun, procs)
	return d, rss
}

// benchRun runs one batch of n products (plus procs-1 worker processes)
// on a fresh store and returns the wall time and the batch process's peak
// RSS in KiB.
func benchRunLog(t *testing.T, backend, llmURL string, n int, dryRun string, procs int) (time.Duration, int64, string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "catalogue.csv")
	writeCSV(t, in, n)
	env := map[string]string{"DATA_DIR": dir, "IMAGES": "off", "WORKERS": "8", "JOB_POLL": "100ms",
		"LLM_PROVIDER": "openai", "LLM_BASE_URL": llmURL, "LLM_API_KEY": "k", "LLM_MODEL": "fake", "LLM_CACHE_SIZE": "0", "LLM_CONCURRENCY": "8"}
	if backend == "postgres" {
		env["DATABASE_URL"] = pgtest.FreshDatabase(t)
	}
	start := time.Now()
	main := startProcess(t, env, "batch", "-i", in, "-o", filepath.Join(dir, "out.jsonl"), "--shops", "bench", "--platform", "douyin", "--dry-run", dryRun)
	for range procs - 1 {
		startProcess(t, env, "worker")
	}
	<-main.done
	elapsed := time.Since(start)
	if main.err != nil {
		t.Fatalf("batch: %v\n%s", main.err, main.stderr.String())
	}
	ru, _ := main.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return elapsed, ru.Maxrss, main.stderr.String()
}
