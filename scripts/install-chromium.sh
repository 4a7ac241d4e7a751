#!/usr/bin/env bash
# Installs Debian's chromium (and chromium-driver) for the browser tests of
# the preview UI (api/web, cmd/listinggen/browser_test.go). Idempotent: does
# nothing when dpkg says both packages are installed (an unpacked but
# unconfigured chromium, left by an interrupted install, is not). Uses sudo
# only when not root. Chromium's own download (Playwright, puppeteer) does
# not work here; the distribution's package does.
set -euo pipefail

log() { printf 'install-chromium.sh: %s\n' "$*" >&2; }

PACKAGES=(chromium chromium-driver fonts-noto-cjk)

installed() {
  local p
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
  done
  [ -x /usr/bin/chromium ]
}

if installed; then
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { log "apt-get not found: install chromium yourself"; exit 1; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else log "need root or passwordless sudo to apt-get install chromium"; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
LOGFILE=$(mktemp -t install-chromium.XXXXXX.log)
# Wait for another apt or dpkg run (install-pgvector.sh, unattended
# upgrades) instead of failing on its lock.
APT=($SUDO apt-get -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends)

log "installing ${PACKAGES[*]} (log: $LOGFILE)"
$SUDO apt-get -q -o DPkg::Lock::Timeout=300 update >>"$LOGFILE" 2>&1 || log "apt-get update failed; trying the cached package lists"
if ! "${APT[@]}" install "${PACKAGES[@]}" >>"$LOGFILE" 2>&1; then
  # A dpkg run cut short leaves packages unpacked but not configured, and
  # apt refuses to go on until they are: finish them, then try once more.
  log "apt-get install failed; configuring half-installed packages and retrying"
  $SUDO dpkg --configure -a >>"$LOGFILE" 2>&1 || true
  if ! "${APT[@]}" -f install "${PACKAGES[@]}" >>"$LOGFILE" 2>&1; then
    tail -n 40 "$LOGFILE" >&2
    log "apt-get install ${PACKAGES[*]} failed"
    exit 1
  fi
fi
installed || { tail -n 40 "$LOGFILE" >&2; log "chromium did not install"; exit 1; }
rm -f "$LOGFILE"
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
