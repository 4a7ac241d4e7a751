#!/usr/bin/env bash
# The project's test command (`make test`, run by CI): formatting, vet,
# staticcheck, and every test with the race detector against both stores.
# It makes sure
# PostgreSQL is running with pgvector, creates a fresh database for the run
# and drops it afterwards. Under CI=true a missing PostgreSQL fails the run;
# elsewhere the PostgreSQL tests are skipped with a warning. It installs
# chromium for the preview UI's browser tests (scripts/install-chromium.sh)
# and s3rver for the S3 blob store's (scripts/install-s3rver.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

log() { printf 'test.sh: %s\n' "$*" >&2; }

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  log "gofmt would change:"; printf '%s\n' "$unformatted" >&2; exit 1
fi
go vet ./...
# staticcheck at a pinned version, as make lint runs it.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }

ensure_postgres() {
  command -v psql >/dev/null 2>&1 || { log "psql not found: PostgreSQL is not installed"; return 1; }
  if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
    for conf in /etc/postgresql/*/main; do
      [ -d "$conf" ] || continue
      version=$(basename "$(dirname "$conf")")
      log "starting PostgreSQL $version"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || \
        sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  fi
  pg_up || { log "PostgreSQL is not reachable at $PGHOST:$PGPORT"; return 1; }
  ./scripts/install-pgvector.sh
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if ensure_postgres; then
    db="lg_test_$$_$(date +%s)"
    psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
    trap 'psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
    psql -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
    export TEST_DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable"
    log "PostgreSQL tests use database $db"
  elif [ "${CI:-}" = "true" ]; then
    log "CI=true and PostgreSQL + pgvector are not available: failing rather than skipping"
    exit 1
  else
    log "WARNING: PostgreSQL tests will be skipped (no PostgreSQL + pgvector)"
  fi
fi

# The preview UI's browser tests drive Debian's chromium. Under CI=true a
# chromium that cannot be installed fails the run (and the tests refuse to
# skip); elsewhere those tests are skipped with a warning.
if ! ./scripts/install-chromium.sh; then
  if [ "${CI:-}" = "true" ]; then
    log "CI=true and chromium could not be installed: failing rather than skipping"
    exit 1
  fi
  log "WARNING: the browser tests will be skipped (no chromium)"
fi

# The S3 blob store's tests run against s3rver, a real S3-compatible server,
# installed from npm into tools/s3rver (scripts/install-s3rver.sh); the tests
# start it on a free loopback port. Under CI=true one that cannot be
# installed fails the run (and the tests refuse to skip); elsewhere they are
# skipped with a warning.
if s3rver=$(./scripts/install-s3rver.sh); then
  export TEST_S3RVER="$s3rver"
elif [ "${CI:-}" = "true" ]; then
  log "CI=true and s3rver could not be installed: failing rather than skipping"
  exit 1
else
  log "WARNING: the S3 blob store tests will be skipped (no s3rver)"
fi

go test -race -count=1 -timeout 20m "$@" ./...

# The dedup verifier's fit and its targets, which the race detector slows
# tenfold and the run above therefore skips: the embedded model must be
# what listinggen-lab fit gives on testdata, byte for byte.
log "refitting the dedup verifier and checking its targets (without -race)"
go test -count=1 -timeout 10m -run '^(TestFitCommand|TestTargets)$' ./cmd/listinggen-lab ./internal/lab/dedupeval

# The PostgreSQL restart fault test (TestPostgresRestartMidJob) restarts the
# local cluster, so it runs alone, after the tests above, which share it.
# Under CI=true a cluster this script cannot restart fails the run.
restart_cmd=""
if [ -n "${db:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  for conf in /etc/postgresql/*/main; do
    [ -d "$conf" ] || continue
    restart_cmd="pg_ctlcluster --skip-systemctl-redirect $(basename "$(dirname "$conf")") main restart"
    [ "$(id -u)" -eq 0 ] || restart_cmd="sudo -n $restart_cmd"
    break
  done
fi
if [ -n "$restart_cmd" ]; then
  log "restarting PostgreSQL in the middle of a job ($restart_cmd)"
  LG_PG_RESTART_CMD="$restart_cmd" go test -count=1 -timeout 10m -run '^TestPostgresRestartMidJob$' ./cmd/listinggen
elif [ "${CI:-}" = "true" ]; then
  log "CI=true and no local PostgreSQL cluster to restart: failing rather than skipping the restart fault test"
  exit 1
else
  log "WARNING: the PostgreSQL restart fault test is skipped (no local cluster this script can restart)"
fi

# A short run of every fuzz target beyond its committed seeds (which the
# tests above already ran): FUZZTIME each, 0 to skip.
fuzztime=${FUZZTIME:-3s}
corpus_size() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
if [ "$fuzztime" != "0" ]; then
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
      log "fuzzing $pkg $target for $fuzztime"
      # A finding is written to testdata/fuzz/$target. Go's fuzzer can also
      # stop with "context deadline exceeded" and no finding, when the time
      # runs out while it minimises a new interesting input: that run proved
      # nothing either way, so it is run once more rather than failed.
      for attempt in 1 2; do
        before=$(corpus_size "$dir/testdata/fuzz/$target")
        if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
          break
        fi
        after=$(corpus_size "$dir/testdata/fuzz/$target")
        if [ "$attempt" = 1 ] && [ "$after" = "$before" ] && grep -q 'context deadline exceeded' <<<"$out"; then
          log "fuzz target $target stopped at its deadline without a finding; running it again"
          continue
        fi
        printf '%s\n' "$out" >&2
        log "fuzz target $target failed (the failing input is in $dir/testdata/fuzz/$target)"
        exit 1
      done
    done
  done
fi
