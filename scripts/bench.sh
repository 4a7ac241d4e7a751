#!/usr/bin/env bash
# make bench: every benchmark is reported as a ratio to a baseline measured
# in the same run, because absolute times on shared machines are noise.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The machine, first: figures from other processors or another libvips do
# not compare (the Go benchmarks print the same line themselves).
echo "machine: cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) CPUs);" \
  "$(vips --version 2>/dev/null | head -1 || echo 'libvips not installed'); $(go env GOVERSION)"

go test -run '^$' -bench 'BenchmarkAPI' -benchtime "${BENCHTIME:-3s}" ./cmd/listinggen | tee "$out"
# The matcher target is single-core throughput on 10 MB of listing text.
GOMAXPROCS=1 go test -run '^$' -bench 'BenchmarkMatcher' -benchtime 3x ./pipeline/compliance | tee -a "$out"

# ratio NAME BASELINE: ns/op of NAME divided by ns/op of BASELINE.
ratio() {
  awk -v name="$1" -v base="$2" '
    $1 ~ "^"name"(-[0-9]+)?$" { n = $3 }
    $1 ~ "^"base"(-[0-9]+)?$" { b = $3 }
    END { if (n && b) printf "%-40s %10.0f ns/op  %8.1fx %s (%.0f ns/op)\n", name, n, n / b, base, b }' "$out"
}
# The review queue at 100k listings (QUEUE_BENCH_N): deep filtered pages
# against the first page.
go test -run '^$' -bench 'BenchmarkQueue' -benchtime 200x ./api/web | tee -a "$out"

echo
echo "== ratios"
ratio 'BenchmarkAPI/generate' 'BenchmarkAPI/baseline=healthz'
ratio 'BenchmarkMatcher/aho-corasick' 'BenchmarkMatcher/baseline=naive-contains'
for q in unfiltered compliance=problems platform=taobao shop-and-status; do
  ratio "BenchmarkQueue/deep/$q" 'BenchmarkQueue/baseline=first-page'
done
awk '$1 ~ /^BenchmarkMatcher\/aho-corasick/ { printf "%-40s %10.1f MB/s single core (target >= 50)\n", "compliance matcher", $5 }' "$out"

# == LLM throughput: 2,000 sample products through the rewriter against the
# fake provider at the issue's RPM 600, TPM 300k and 300-1500 ms latency
# (about 4 minutes); LLM_BENCH=scaled runs it 10x faster (every rate 10x,
# every latency and the limit window 10x shorter). The figures are fractions
# of the provider's limits and the rerun's share of the first run's time.
echo
echo "== LLM throughput (listinggen-lab llmbench)"
llm_args=(--rpm 600 --tpm 300000 --latency 300ms-1500ms)
[ "${LLM_BENCH:-}" = "scaled" ] && llm_args=(--rpm 6000 --tpm 3000000 --latency 30ms-150ms)
go run ./cmd/listinggen-lab llmbench "${llm_args[@]}"

# == images: our Douyin main variant against libvips' vipsthumbnail on the
# same photos, single core, in one script (scripts/bench-images.sh).
echo
echo "== images (scripts/bench-images.sh)"
./scripts/bench-images.sh
# == images in a batch: BATCH_BENCH_IMAGES_N products (default 1000) with
# 1-5 photos each from a loopback server, against vipsthumbnail on the same
# photos in the same run (bench-images.sh has installed it).
echo
echo "== batch with images, N=${BATCH_BENCH_IMAGES_N:-1000}"
BATCH_BENCH_IMAGES=1 go test -run '^TestBatchBenchImages$' -count=1 -timeout 120m -v ./cmd/listinggen 2>&1 |
  grep -E '^(machine|batch with|vipsthumbnail)|FAIL|Error'
# == dedup check with verification: the same checks timed verified
# (vector and image candidates, each loaded and judged by the evidence
# verifier) and unverified (vector candidates and cosine thresholds only),
# alternating, on one SQLite store holding the sample catalogue generated
# for 10 shops of one group (3000 listings). The ratio is of the p99s.
echo
echo "== dedup check latency, verified vs unverified (listinggen-lab eval latency)"
go run ./cmd/listinggen eval latency --queries "${DEDUP_CHECK_QUERIES:-1000}" | tee -a "$out"
awk '/^verified p99/ { print "dedup check: verified p99 is " $3 " the unverified p99 (same run)" }' "$out"

# == dedup: the dedup step's similarity query on both stores, through the
# Store interface, over DEDUP_BENCH_N listings (default 100000; make
# bench-large: 1000000) whose vectors embed realistic titles. storebench
# prints its own table: p50/p99 latency against an exact Go scan of the same
# vectors, recall@10 against it, insert throughput (PostgreSQL: the first
# 100k listings; the rest are bulk loaded, as a note says) against a
# plain-table INSERT, HNSW build against a btree REINDEX, all measured in
# this run.
# PostgreSQL + pgvector are started and installed as in scripts/test.sh, and
# the benchmark creates (and drops) its own database on that server; without
# them only SQLite is measured (under CI=true that fails instead).
dedup_pg_up() { pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" 2>/dev/null; }
dedup_ensure_postgres() {
  command -v pg_isready >/dev/null 2>&1 || return 1
  if ! dedup_pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
    for conf in /etc/postgresql/*/main; do
      [ -d "$conf" ] || continue
      version=$(basename "$(dirname "$conf")")
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || \
        sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do dedup_pg_up && break; sleep 0.5; done
  fi
  dedup_pg_up && ./scripts/install-pgvector.sh >&2
}
echo
echo "== dedup similarity query (storebench), N=${DEDUP_BENCH_N:-100000}"
dedup_pg_url=${DEDUP_BENCH_PG_URL:-${TEST_DATABASE_URL:-}}
if [ -z "$dedup_pg_url" ]; then
  if dedup_ensure_postgres; then
    dedup_pg_url="postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/postgres?sslmode=disable"
  elif [ "${CI:-}" = "true" ]; then
    echo "bench.sh: CI=true and PostgreSQL + pgvector are not available" >&2; exit 1
  else
    echo "bench.sh: WARNING: no PostgreSQL + pgvector; the dedup benchmark measures SQLite only" >&2
    dedup_pg_url=off
  fi
fi
DEDUP_BENCH_PG_URL="$dedup_pg_url" go run ./cmd/listinggen-lab storebench

# == batch jobs: the batch command as a child process over BATCH_BENCH_N
# products (default 100000) with the fake LLM at zero latency, on SQLite
# and on PostgreSQL (fresh databases on the dedup benchmark's server):
# items/s against the same run's dry run (import and commit only), peak
# RSS at N against N/10, and 2 worker processes against 1 with a 200 ms
# model. Then the shared limiter: three connection pools (as three worker
# processes) calling as fast as it lets them, against the configured RPM.
echo
echo "== batch jobs, N=${BATCH_BENCH_N:-100000}"
batch_pg=""
[ "$dedup_pg_url" != off ] && batch_pg="$dedup_pg_url"
BATCH_BENCH=1 TEST_DATABASE_URL="$batch_pg" \
  go test -run '^TestBatchBench$' -count=1 -timeout 600m -v ./cmd/listinggen 2>&1 | grep -E '^batch|FAIL|Error'
if [ -n "$batch_pg" ]; then
  TEST_DATABASE_URL="$batch_pg" go test -run '^TestRateLimiterSharedByThreeProcesses$' -count=1 -v ./postgres 2>&1 |
    sed -n 's/.*limiter_test.go:[0-9]*: /shared limiter, 3 pools: /p'
fi
