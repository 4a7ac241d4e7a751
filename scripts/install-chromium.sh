#!/usr/bin/env bash
# Installs Debian's chromium (and chromium-driver) for the browser tests of
# the preview UI (api/web, cmd/listinggen/browser_test.go). Idempotent: does
# nothing when /usr/bin/chromium is already there. Uses sudo only when not
# root. Chromium's own download (Playwright, puppeteer) does not work here;
# the distribution's package does.
set -euo pipefail

log() { printf 'install-chromium.sh: %s\n' "$*" >&2; }

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { log "apt-get not found: install chromium yourself"; exit 1; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else log "need root or passwordless sudo to apt-get install chromium"; exit 1; fi
fi
log "installing chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || log "apt-get update failed; trying the cached package lists"
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk >/dev/null
test -x /usr/bin/chromium || { log "chromium did not install"; exit 1; }
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
