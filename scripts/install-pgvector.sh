#!/usr/bin/env bash
# install-pgvector.sh - make the pgvector extension available to the locally
# installed PostgreSQL on Debian 12 (bookworm).
#
# bookworm ships no pgvector package for its PostgreSQL 15, so this builds it
# from Debian's own *source* package in trixie:
#   1. add a deb-src-only entry for trixie (same mirror as the existing apt
#      sources) in /etc/apt/sources.list.d/, unless one is already there;
#      no binary "deb" entry is added, so apt never prefers trixie binaries;
#   2. apt-get update (only when needed) and install the build dependencies
#      (postgresql-server-dev-NN for the installed server, build-essential,
#      dpkg-dev);
#   3. apt-get source pgvector/trixie in a temp dir, make && make install with
#      the detected PG_CONFIG.
#
# Idempotent: exits at once when vector.control and vector.so are already
# installed for that PG_CONFIG.  Needs root (re-runs itself through sudo when
# started as another user and work is needed).
#
# Environment:
#   PG_CONFIG             pg_config to build against (default: that of the
#                         highest /usr/lib/postgresql/NN with a server, else
#                         the highest /usr/lib/postgresql/*/bin/pg_config)
#   PGVECTOR_SRC_SUITE    Debian suite to take the source package from
#                         (default: trixie)
#   PGVECTOR_OPTFLAGS     compiler tuning flags for pgvector's Makefile
#                         (default: empty, as Debian's own package builds it;
#                         upstream's default is -march=native)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SRC_SUITE="${PGVECTOR_SRC_SUITE:-trixie}"
SRC_LIST="/etc/apt/sources.list.d/pgvector-${SRC_SUITE}-src.sources"
DEFAULT_MIRROR="http://deb.debian.org/debian"
DEFAULT_KEYRING="/usr/share/keyrings/debian-archive-keyring.gpg"
APT_OPTS=(-qq -o DPkg::Lock::Timeout=300)

log() { printf 'install-pgvector: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- which PostgreSQL ------------------------------------------------------
detect_pg_config() {
  local c best="" any=""
  # Highest version first: prefer one that has a server installed, else
  # simply the highest pg_config.
  while IFS= read -r c; do
    [[ -x "$c" ]] || continue
    [[ -n "$any" ]] || any="$c"
    if [[ -x "$(dirname "$c")/postgres" ]]; then best="$c"; break; fi
  done < <(compgen -G '/usr/lib/postgresql/*/bin/pg_config' | sort -rV)
  printf '%s' "${best:-$any}"
}

if [[ -n "${PG_CONFIG:-}" ]]; then
  if ! PG_CONFIG_PATH="$(command -v -- "$PG_CONFIG")"; then
    die "PG_CONFIG=$PG_CONFIG is not an executable"
  fi
  PG_CONFIG="$PG_CONFIG_PATH"
else
  PG_CONFIG="$(detect_pg_config)"
  [[ -n "$PG_CONFIG" ]] ||
    die "no PostgreSQL found (no /usr/lib/postgresql/*/bin/pg_config); install postgresql first"
fi
export PG_CONFIG

PG_SHAREDIR="$("$PG_CONFIG" --sharedir)"
PG_PKGLIBDIR="$("$PG_CONFIG" --pkglibdir)"
PG_VERSION_STR="$("$PG_CONFIG" --version)"
PG_MAJOR="$(sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p' <<<"$PG_VERSION_STR")"
[[ -n "$PG_MAJOR" ]] || die "cannot parse the major version from '$PG_VERSION_STR' ($PG_CONFIG)"

CONTROL="$PG_SHAREDIR/extension/vector.control"
SHLIB="$PG_PKGLIBDIR/vector.so"

control_version() { sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$CONTROL" 2>/dev/null || true; }

# --- fast path -------------------------------------------------------------
if [[ -f "$CONTROL" && -f "$SHLIB" ]]; then
  log "pgvector $(control_version) already installed for PostgreSQL $PG_MAJOR ($CONTROL); nothing to do"
  exit 0
fi

# --- root ------------------------------------------------------------------
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 ||
    die "must run as root to install pgvector, and sudo is not available"
  script="${BASH_SOURCE[0]}"
  [[ -r "$script" ]] || die "must run as root (cannot re-run '$script' through sudo)"
  sudo_opts=()
  [[ -t 0 ]] || sudo_opts=(-n) # never hang on a password prompt without a tty
  pass_env=(PG_CONFIG="$PG_CONFIG" PGVECTOR_SRC_SUITE="$SRC_SUITE")
  if [[ -n "${PGVECTOR_OPTFLAGS+set}" ]]; then pass_env+=(PGVECTOR_OPTFLAGS="$PGVECTOR_OPTFLAGS"); fi
  log "not root: re-running through sudo"
  exec sudo "${sudo_opts[@]}" env "${pass_env[@]}" bash "$script" "$@"
fi

log "installing pgvector for PostgreSQL $PG_MAJOR (PG_CONFIG=$PG_CONFIG)"

WORKDIR="$(mktemp -d /tmp/install-pgvector.XXXXXX)"
LOGFILE="$WORKDIR/build.log"
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 && -s "$LOGFILE" ]]; then
    log "failed (exit $rc); last lines of $LOGFILE:"
    tail -n 40 "$LOGFILE" >&2 || true
    log "work dir kept: $WORKDIR"
  else
    rm -rf "$WORKDIR"
  fi
}
trap cleanup EXIT
: >"$LOGFILE"

# Run a command with stdout+stderr in the log (shown on failure).
run_logged() {
  printf '\n+ %s\n' "$*" >>"$LOGFILE"
  "$@" >>"$LOGFILE" 2>&1
}

# --- apt sources -----------------------------------------------------------
# Print "URI<TAB>SIGNED-BY" of the first enabled entry of type $1 for suite $2
# in any apt source file (one-line .list and deb822 .sources formats).
find_apt_source() {
  local want_type="$1" want_suite="$2" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    awk -v t="$want_type" -v s="$want_suite" '
      { sub(/#.*/, "") }
      $1 != t { next }
      {
        i = 2; signed = ""
        if ($2 ~ /^\[/) {                      # [ option=value ... ]
          for (; i <= NF; i++) {
            if ($i ~ /^\[?signed-by=/) { v = $i; sub(/^\[?signed-by=/, "", v); sub(/\]$/, "", v); signed = v }
            if ($i ~ /\]$/) { i++; break }
          }
        }
        if ($(i + 1) == s) { printf "%s\t%s\n", $i, signed; found = 1; exit }
      }
      END { exit !found }' "$f" && return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    awk -v t="$want_type" -v s="$want_suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        split("", fld); key = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (line ~ /^[ \t]/) { if (key != "") fld[key] = fld[key] "\n" line; continue }
          p = index(line, ":"); if (!p) continue
          key = tolower(substr(line, 1, p - 1)); val = substr(line, p + 1)
          gsub(/^[ \t]+|[ \t]+$/, "", val); fld[key] = val
        }
        if (tolower(fld["enabled"]) == "no") next
        n = split(fld["types"], a, /[ \t]+/); ok = 0
        for (j = 1; j <= n; j++) if (a[j] == t) ok = 1
        if (!ok) next
        n = split(fld["suites"], a, /[ \t]+/); ok = 0
        for (j = 1; j <= n; j++) if (a[j] == s) ok = 1
        if (!ok) next
        split(fld["uris"], a, /[ \t]+/)
        signed = fld["signed-by"]
        if (signed ~ /\n/ || signed ~ /BEGIN PGP/) signed = ""   # inline key: not reusable here
        printf "%s\t%s\n", a[1], signed; found = 1; exit
      }
      END { exit !found }' "$f" && return 0
  done
  return 1
}

ADDED_SOURCE=0
if [[ -e "$SRC_LIST" ]] || find_apt_source deb-src "$SRC_SUITE" >/dev/null; then
  log "deb-src entry for $SRC_SUITE already present"
else
  # shellcheck disable=SC1091
  CODENAME="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
  [[ -n "$CODENAME" ]] || CODENAME=bookworm
  MIRROR="" KEYRING=""
  if found="$(find_apt_source deb "$CODENAME")"; then
    IFS=$'\t' read -r MIRROR KEYRING <<<"$found" || true
  fi
  if [[ -z "${MIRROR:-}" ]]; then
    MIRROR="$DEFAULT_MIRROR"
    log "no 'deb ... $CODENAME' entry found in the apt sources; using $MIRROR"
  fi
  if [[ -z "${KEYRING:-}" && -r "$DEFAULT_KEYRING" ]]; then
    KEYRING="$DEFAULT_KEYRING"
  fi
  log "adding deb-src entry for $SRC_SUITE ($MIRROR) in $SRC_LIST"
  {
    echo "# Added by install-pgvector.sh: Debian $SRC_SUITE *source* packages only (no"
    echo "# binary 'deb' entry, so apt never installs $SRC_SUITE binaries), used to"
    echo "# build pgvector for the local PostgreSQL."
    echo "Types: deb-src"
    echo "URIs: $MIRROR"
    echo "Suites: $SRC_SUITE"
    echo "Components: main"
    if [[ -n "${KEYRING:-}" ]]; then echo "Signed-By: $KEYRING"; fi
  } >"$SRC_LIST.tmp"
  chmod 0644 "$SRC_LIST.tmp"
  mv -f "$SRC_LIST.tmp" "$SRC_LIST"
  ADDED_SOURCE=1
fi

have_src_index() { compgen -G "/var/lib/apt/lists/*_dists_${SRC_SUITE}_*_source_Sources*" >/dev/null; }
have_bin_index() { compgen -G "/var/lib/apt/lists/*_binary-*_Packages*" >/dev/null; }

UPDATED=0
apt_update() {
  log "apt-get update"
  apt-get "${APT_OPTS[@]}" update >>"$LOGFILE" || die "apt-get update failed"
  UPDATED=1
}

if [[ $ADDED_SOURCE -eq 1 ]] || ! have_src_index || ! have_bin_index; then
  apt_update
fi
have_src_index || die "no $SRC_SUITE source index after apt-get update (is the mirror reachable?)"

# --- build dependencies ----------------------------------------------------
is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}
DEPS=("postgresql-server-dev-$PG_MAJOR" build-essential make gcc dpkg-dev)
MISSING=()
for p in "${DEPS[@]}"; do is_installed "$p" || MISSING+=("$p"); done
if [[ ${#MISSING[@]} -gt 0 ]]; then
  log "installing build dependencies: ${MISSING[*]}"
  if ! apt-get "${APT_OPTS[@]}" install --no-install-recommends "${MISSING[@]}" >>"$LOGFILE"; then
    [[ $UPDATED -eq 0 ]] || die "apt-get install ${MISSING[*]} failed"
    log "install failed with the current package lists; retrying after apt-get update"
    apt_update
    apt-get "${APT_OPTS[@]}" install --no-install-recommends "${MISSING[@]}" >>"$LOGFILE" ||
      die "apt-get install ${MISSING[*]} failed"
  fi
else
  log "build dependencies already installed"
fi

# --- fetch, build, install -------------------------------------------------
cd "$WORKDIR"
# apt downloads as the unprivileged _apt user when it can write the target dir.
if id _apt >/dev/null 2>&1; then chown _apt "$WORKDIR"; fi
log "fetching Debian source package pgvector/$SRC_SUITE"
apt-get "${APT_OPTS[@]}" source "pgvector/$SRC_SUITE" >>"$LOGFILE" ||
  die "apt-get source pgvector/$SRC_SUITE failed"
SRCDIR="$(find "$WORKDIR" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)"
[[ -n "$SRCDIR" && -f "$SRCDIR/Makefile" ]] || die "unpacked pgvector source not found in $WORKDIR"

log "building $(basename "$SRCDIR")"
run_logged make -C "$SRCDIR" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="${PGVECTOR_OPTFLAGS:-}" ||
  die "make failed"
log "installing into $PG_SHAREDIR/extension and $PG_PKGLIBDIR"
run_logged make -C "$SRCDIR" install PG_CONFIG="$PG_CONFIG" OPTFLAGS="${PGVECTOR_OPTFLAGS:-}" ||
  die "make install failed"

[[ -f "$CONTROL" && -f "$SHLIB" ]] || die "make install did not produce $CONTROL and $SHLIB"
log "pgvector $(control_version) installed for PostgreSQL $PG_MAJOR; run CREATE EXTENSION vector; in a database to use it"
