#!/usr/bin/env bash
# make loadtest: load on loopback against a real `listinggen serve` (SQLite,
# fake model (listinggen-lab fake-llm, internal/openaitest) through the real OpenAI client, an API
# key on every request), with hey from Debian:
#   POST /v1/generate at concurrency 50, then GET /v1/listings at 200,
#   LOADTEST_DURATION each (default 60s).
# Baselines GET /healthz and GET /v1/shops at 200 run in the same process
# for ratios. It reports requests/s, p50/p99, the error rate, and the server's
# goroutines and memory (from /metrics) after a warm-up and a rest (125 s,
# so that the runtime's periodic GC has measured the live heap), after each
# run, and after the same rest. Target: zero errors, no growth in
# goroutines or memory. About 7 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
log() { printf 'loadtest: %s\n' "$*" >&2; }

if ! command -v hey >/dev/null 2>&1; then
  log "installing hey (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y hey >/dev/null; else sudo -n apt-get install -y hey >/dev/null; fi
fi

duration=${LOADTEST_DURATION:-60s}
port=${LOADTEST_PORT:-18080}
llm_port=${LOADTEST_LLM_PORT:-18081}
latency=${LOADTEST_MODEL_LATENCY:-20ms}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -trimpath -o "$work/listinggen" ./cmd/listinggen
go build -trimpath -o "$work/listinggen-lab" ./cmd/listinggen-lab
"$work/listinggen-lab" fake-llm --addr "127.0.0.1:$llm_port" --latency "$latency" >"$work/llm.log" 2>&1 &
pids+=($!)
export DATA_DIR="$work/data" IMAGES=off LOG_LEVEL=warn
key=$("$work/listinggen" keys create --tenant loadtest --scopes read,write,admin 2>/dev/null)
LISTEN_ADDR="127.0.0.1:$port" LLM_BASE_URL="http://127.0.0.1:$llm_port/v1" LLM_MODEL=fake-4o LLM_CACHE_SIZE=0 \
  RATE_LIMIT_RPS=0 "$work/listinggen" serve 2>"$work/serve.log" &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
auth="Authorization: Bearer $key"
shop=$(curl -sf "$base/v1/shops" -H "$auth" -H 'content-type: application/json' \
  -d '{"name":"压测店","platform":"douyin"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
printf '{"product": %s, "shop_ids": ["%s"]}' "$(sed -n 1p testdata/catalogue/sample-300.jsonl)" "$shop" >"$work/generate.json"
# Seed listings for the list run: 200 products into the shop.
head -n 200 testdata/catalogue/sample-300.jsonl | while read -r p; do
  printf '{"product": %s, "shop_ids": ["%s"]}' "$p" "$shop" | curl -sf "$base/v1/generate" -H "$auth" -H 'content-type: application/json' -d @- >/dev/null
done

# stats prints goroutines, the heap live after the last GC (MB), the heap
# in use now (MB) and resident memory (MB).
stats() {
  curl -sf "$base/metrics" | awk '
    /^go_goroutines / { g = $2 }
    /^go_gc_heap_live_bytes / { l = $2 / 1048576 }
    /^go_memstats_heap_inuse_bytes / { h = $2 / 1048576 }
    /^process_resident_memory_bytes / { r = $2 / 1048576 }
    END { printf "goroutines=%d heap_live_after_gc=%.1fMB heap_inuse=%.1fMB rss=%.1fMB", g, l, h, r }'
}
# summary NAME FILE: requests/s, p50, p99 and the error rate from hey's report.
summary() {
  awk -v name="$1" '
    /Requests\/sec:/ { rps = $2 }
    /^ *50%% in/ || /^ *50% in/ { p50 = $3 * 1000 }
    /^ *99% in/ { p99 = $3 * 1000 }
    /^ *\[[0-9]+\]/ { code = substr($1, 2, 3); n = $2; total += n; if (code !~ /^2/) bad += n }
    /^Error distribution:/ { inerr = 1; next }
    inerr && /^ *\[[0-9]+\]/ { errs += substr($1, 2, length($1) - 2) }
    END { total += errs; bad += errs
          printf "%-34s %9.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %d/%d (%.3f%%)\n", name, rps, p50, p99, bad, total, (total ? 100 * bad / total : 0) }' "$2"
}

# Warm up (every pooled connection opened, caches filled) and rest like the
# final measurement, so that before and after compare the same steady state.
rest=${LOADTEST_REST:-125}
warm=${LOADTEST_WARMUP:-10s}
log "warming up ($warm each), then resting ${rest}s"
hey -z "$warm" -c 50 -m POST -T application/json -H "$auth" -D "$work/generate.json" "$base/v1/generate" >/dev/null
hey -z "$warm" -c 200 -H "$auth" "$base/v1/listings?shop_id=$shop&limit=50" >/dev/null
sleep "$rest"
before=$(stats)
log "before: $before"
log "POST /v1/generate, c=50, $duration"
hey -z "$duration" -c 50 -m POST -T application/json -H "$auth" -D "$work/generate.json" "$base/v1/generate" >"$work/generate.txt"
after_generate=$(stats)
log "GET /v1/listings, c=200, $duration"
hey -z "$duration" -c 200 -H "$auth" "$base/v1/listings?shop_id=$shop&limit=50" >"$work/list.txt"
after_list=$(stats)
# Baselines in the same run, for ratios: the same client and concurrency
# on routes that do almost nothing (no auth, no store) and little (auth and
# one small query).
hey -z "${LOADTEST_BASELINE_DURATION:-10s}" -c 200 "$base/healthz" >"$work/healthz.txt"
hey -z "${LOADTEST_BASELINE_DURATION:-10s}" -c 200 -H "$auth" "$base/v1/shops" >"$work/shops.txt"
# Rest until idle keep-alive connections to the model have closed (90 s)
# and the runtime's periodic GC (every 2 min) has measured the live heap
# without load: then the numbers should be back near "before".
log "resting ${rest}s"
sleep "$rest"
rested=$(stats)

echo "== make loadtest ($duration each, loopback, fake model latency $latency, SQLite, API key on every request)"
summary "POST /v1/generate (c=50)" "$work/generate.txt"
summary "GET /v1/listings?limit=50 (c=200)" "$work/list.txt"
summary "baseline GET /healthz (c=200)" "$work/healthz.txt"
summary "baseline GET /v1/shops (c=200)" "$work/shops.txt"
echo "before (warmed, rested): $before"
echo "after generate:        $after_generate"
echo "after list:            $after_list"
echo "after ${rest} s of rest:  $rested"
if grep -q 'level=ERROR' "$work/serve.log"; then
  echo "server logged errors:"; grep 'level=ERROR' "$work/serve.log" | head -5
fi
