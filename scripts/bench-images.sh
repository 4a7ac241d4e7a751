#!/usr/bin/env bash
# Image benchmark: the Douyin main variant (800×800, JPEG q85) made from each
# photo in testdata/images/large, single core, by our Go code
# (BenchmarkMainVariant/all, GOMAXPROCS=1) and by libvips' vipsthumbnail on
# the same files, to the same size and quality, pinned to the same CPU. Both
# run in the same script, alternating, ROUNDS times each; the best round of
# each is compared (the least disturbed by other load on the machine).
#
# Two ratios ours / libvips (throughput; above 1 is faster than libvips):
#   - against one vipsthumbnail process over the files, start-up included,
#     as the issue defines it (target >= 1.0);
#   - against vipsthumbnail given the list REPEAT times in one process,
#     which amortises its start-up (target >= 0.85).
# Each is given twice: from wall-clock time, and from CPU time (user + system
# of the vipsthumbnail process, of the Go benchmark process). On a shared,
# loaded machine a process waits for the CPU, which lengthens its wall-clock
# time but not its CPU time, so the CPU-time ratio is the steadier one.
# Our side is timed inside the test process (no process start-up).
#
# Then the peak RSS of processing 8 photos of 3000×2000 at once (target
# ≤ 400 MB). The first line printed names the CPU, the libvips version and
# the Go version.
#
#   scripts/bench-images.sh             ROUNDS=5 REPEAT=3 CPU=0 STRICT=0
#
# PHOTOS=DIR measures the JPEGs in DIR instead (the peak RSS test keeps its
# 3000×2000 photo).
# STRICT=1 makes a missed target fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

ROUNDS=${ROUNDS:-5}
REPEAT=${REPEAT:-3}  # vipsthumbnail gets the file list this many times, so its start-up is amortised
CPU=${CPU:-0}
STRICT=${STRICT:-0}
log() { printf 'bench-images: %s\n' "$*" >&2; }

# libvips-tools (Debian's vipsthumbnail), installed once.
if ! command -v vipsthumbnail >/dev/null 2>&1; then
  log "installing libvips-tools"
  if [ "$(id -u)" -eq 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    log "vipsthumbnail is missing and I am not root: apt-get install libvips-tools"; exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null
fi

PHOTOS=$(cd "${PHOTOS:-testdata/images/large}" && pwd)
export LISTINGGEN_BENCH_PHOTOS=$PHOTOS
mapfile -t files < <(ls "$PHOTOS"/*.jpg)
[ "${#files[@]}" -gt 0 ] || { log "no photos in $PHOTOS"; exit 1; }

pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c "$CPU"); fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/images.test" ./images

rep_args=()
for _ in $(seq "$REPEAT"); do rep_args+=("${files[@]}"); done
go_images=${#files[@]}

now_ns() { date +%s%N; }
# children_cpu_ns FILE: user + system time of finished children, in
# nanoseconds, from the output of the builtin times saved in FILE (times must
# run in the shell that started them: a command substitution would run it in
# a subshell, which has no children of its own).
children_cpu_ns() {
  awk 'NR == 2 {
    ns = 0
    for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); ns += (p[1] * 60 + p[2]) * 1e9 }
    printf "%.0f\n", ns }' "$1"
}
# vips_per FILES...: "WALL CPU", nanoseconds per image of one single-core
# vipsthumbnail process over FILES.
vips_per() {
  local start ns cpu
  times >"$work/times0"
  start=$(now_ns)
  VIPS_CONCURRENCY=1 "${pin[@]}" vipsthumbnail -s 800x800 -o "$work/%s.jpg[Q=85]" "$@"
  ns=$(( $(now_ns) - start ))
  times >"$work/times1"
  cpu=$(( $(children_cpu_ns "$work/times1") - $(children_cpu_ns "$work/times0") ))
  echo "$(( ns / $# )) $(( cpu / $# ))"
}
# min A B: the smaller, or B when A is empty.
min() { if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }
best_vips= best_vips_cpu= best_rep= best_rep_cpu= best_go= best_go_cpu= machine=
for round in $(seq "$ROUNDS"); do
  read -r wall cpu < <(vips_per "${files[@]}")
  best_vips=$(min "$best_vips" "$wall"); best_vips_cpu=$(min "$best_vips_cpu" "$cpu")
  read -r wall cpu < <(vips_per "${rep_args[@]}")
  best_rep=$(min "$best_rep" "$wall"); best_rep_cpu=$(min "$best_rep_cpu" "$cpu")

  out=$(cd images && GOMAXPROCS=1 "${pin[@]}" "$work/images.test" -test.run '^$' \
    -test.bench '^BenchmarkMainVariant$/^all$' -test.benchtime 3x 2>&1) ||
    { log "the Go benchmark failed:"; printf '%s\n' "$out" >&2; exit 1; }
  machine=$(grep -m1 '^machine:' <<<"$out" || true)
  read -r op cpu_op < <(awk '$1 ~ /^BenchmarkMainVariant\/all/ {
    for (i = 1; i < NF; i++) { if ($(i+1) == "ns/op") op = $i; if ($(i+1) == "cpu-ns/op") cpu = $i }
    print op, cpu }' <<<"$out")
  [ -n "${op:-}" ] && [ -n "${cpu_op:-}" ] || { log "benchmark output not understood:"; printf '%s\n' "$out" >&2; exit 1; }
  best_go=$(min "$best_go" "$(( ${op%.*} / go_images ))")
  best_go_cpu=$(min "$best_go_cpu" "$(( ${cpu_op%.*} / go_images ))")
  log "round $round: best so far, ms/image wall (CPU): libvips $(( best_vips / 1000000 )) ($(( best_vips_cpu / 1000000 ))), amortised $(( best_rep / 1000000 )) ($(( best_rep_cpu / 1000000 ))), ours $(( best_go / 1000000 )) ($(( best_go_cpu / 1000000 )))"
done

version=$(vips --version 2>/dev/null | head -1 || echo libvips)
ratio() { awk -v v="$1" -v g="$2" 'BEGIN { printf "%.2f", v / g }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
per_s() { awk -v n="$1" 'BEGIN { printf "%.1f", 1e9 / n }'; }

# Peak RSS: 8 photos of 3000×2000 processed concurrently in a fresh process.
# peak_rss MODE: MB, from TestPeakRSS in a process of its own.
peak_rss() {
  local out mb
  out=$(cd images && LISTINGGEN_IMAGES_RSS=$1 "$work/images.test" -test.run '^TestPeakRSS$' -test.v 2>&1 || true)
  mb=$(grep -o 'PEAK_RSS_MB [0-9]*' <<<"$out" | awk '{ print $2 }')
  [ -n "$mb" ] || { log "peak RSS test output not understood:"; printf '%s\n' "$out" >&2; exit 1; }
  echo "$mb"
}
rss=$(peak_rss 1)
rss_full=$(peak_rss full)

r1=$(ratio "$best_vips" "$best_go") r1c=$(ratio "$best_vips_cpu" "$best_go_cpu")
r2=$(ratio "$best_rep" "$best_go") r2c=$(ratio "$best_rep_cpu" "$best_go_cpu")
echo
echo "${machine:-machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)}"
echo "== images: Douyin main variant (800x800 pad on white, JPEG q85) from ${go_images} photos in $PHOTOS, single core (CPU $CPU), best of $ROUNDS rounds"
printf '%-52s %8s %8s %10s\n' "" "wall" "CPU" "images/s"
printf '%-52s %5s ms %5s ms %10s\n' "libvips ($version, vipsthumbnail, one process)" "$(ms "$best_vips")" "$(ms "$best_vips_cpu")" "$(per_s "$best_vips")"
printf '%-52s %5s ms %5s ms %10s\n' "libvips, file list x$REPEAT in one process" "$(ms "$best_rep")" "$(ms "$best_rep_cpu")" "$(per_s "$best_rep")"
printf '%-52s %5s ms %5s ms %10s\n' "listinggen images (GOMAXPROCS=1)" "$(ms "$best_go")" "$(ms "$best_go_cpu")" "$(per_s "$best_go")"
echo "throughput ratio ours / libvips, one process:     wall $r1   CPU $r1c   (target >= 1.0)"
echo "  against libvips with its start-up amortised:    wall $r2   CPU $r2c   (target >= 0.85)"
echo "peak RSS, 8 x 3000x2000 processed concurrently (Douyin apparel variants): ${rss} MB   (target <= 400 MB)"
echo "  the same with a 2000 px main image (full-size decode, no shrink-on-load): ${rss_full} MB"

fail=0
missed() { awk -v r="$1" -v t="$2" 'BEGIN { exit !(r < t) }'; }
if missed "$r1" 1.0 || missed "$r1c" 1.0; then log "throughput target (one process) missed"; fail=1; fi
if missed "$r2" 0.85 || missed "$r2c" 0.85; then log "throughput target (start-up amortised) missed"; fail=1; fi
if [ "$rss" -gt 400 ] || [ "$rss_full" -gt 400 ]; then log "memory target missed"; fail=1; fi
if [ "$STRICT" = 1 ] && [ "$fail" = 1 ]; then exit 1; fi
exit 0
