#!/usr/bin/env bash
# Installs s3rver, the S3-compatible server (Node.js) that the S3 blob
# store's tests run against (blob/s3_test.go, cmd/listinggen), into
# tools/s3rver/node_modules from the committed package.json and
# package-lock.json (exact version, `npm ci`). Prints the path of the
# executable, which scripts/test.sh exports as TEST_S3RVER.
# Idempotent: does nothing when what is installed came from this lock file.
# Needs node and npm (Debian's nodejs and npm packages will do).
set -euo pipefail
cd "$(dirname "$0")/../tools/s3rver"

log() { printf 'install-s3rver.sh: %s\n' "$*" >&2; }

bin="$PWD/node_modules/.bin/s3rver"
stamp=node_modules/.installed-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$bin"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { log "npm not found: install Node.js and npm (apt-get install nodejs npm)"; exit 1; }
log "installing s3rver into tools/s3rver/node_modules"
npm ci --no-audit --no-fund --loglevel=error >&2
"$bin" --version >/dev/null || { log "s3rver did not install"; exit 1; }
echo "$want" >"$stamp"
echo "$bin"
