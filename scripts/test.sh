#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, PostgreSQL, fmt, clippy, every
# test on both backends (SQLite and PostgreSQL), and the contract checks of
# scripts/contract.sh. Fails if any test or check fails, if a test is ignored, or if
# either backend ran no tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
need_package() { # need_package <check-command> <package>...
  if ! eval "$1" >/dev/null 2>&1; then
    shift
    log "installing $*"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# Build and test dependencies: libpq for diesel's PostgreSQL backend, Chromium for the
# /docs browser test, PostgreSQL itself when the machine has none.
need_package "pkg-config --exists libpq || test -f /usr/include/postgresql/libpq-fe.h" libpq-dev
need_package "test -x ${CHROMIUM:-/usr/bin/chromium}" chromium
need_package "command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl" postgresql
# The documented backup tools, which the backup-and-restore test runs.
need_package "command -v sqlite3" sqlite3
need_package "command -v pg_dump && command -v pg_restore" postgresql-client
# Node.js and npm for the OpenAPI linters and the generated TypeScript client.
need_package "command -v node && command -v npm" nodejs npm
# Redocly's CLI needs Node.js 20.19 or newer; an older one (Debian 12's own is 18) would
# fail deep inside the linters, so say so here.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "the contract checks need Node.js >= 20.19 (found $(node --version)); install a newer Node.js (e.g. from nodesource) and run again" >&2
  exit 1
fi

# PostgreSQL: use the one at JJJ_TEST_POSTGRES_URL (default 127.0.0.1:5432); start the
# machine's cluster if it is down; failing that, a throwaway cluster owned by postgres.
export JJJ_TEST_POSTGRES_URL="${JJJ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_up() { psql "$JJJ_TEST_POSTGRES_URL" -Atqc 'select 1' >/dev/null 2>&1; }
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "starting the machine's PostgreSQL cluster"
    for version in $(ls /etc/postgresql); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! pg_up; then
  log "starting a throwaway PostgreSQL cluster"
  bindir=$(dirname "$(command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -n1)")
  pgdata=$(mktemp -d /tmp/jjj-pg.XXXXXX)
  chown postgres "$pgdata" 2>/dev/null || true
  runas=(); [ "$(id -u)" = 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -o "-c listen_addresses=127.0.0.1 -p 5432 -k $pgdata" -w start >/dev/null
  stop_throwaway_cluster() { "${runas[@]}" "$bindir/pg_ctl" -D "$pgdata" -m fast stop >/dev/null 2>&1 || true; }
  pg_up || { echo "PostgreSQL could not be started" >&2; exit 1; }
fi

# Every test database of this run carries the run id; drop them all at the end.
export JJJ_TEST_RUN_ID="r$(date +%s)$$"
cleanup_databases() {
  psql "$JJJ_TEST_POSTGRES_URL" -Atqc "select datname from pg_database where datname like 'jjj\\_${JJJ_TEST_RUN_ID}\\_%'" 2>/dev/null |
    while read -r db; do psql "$JJJ_TEST_POSTGRES_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true; done
}
on_exit() {
  cleanup_databases
  if declare -F stop_throwaway_cluster >/dev/null; then stop_throwaway_cluster; fi
}
trap on_exit EXIT

log "cargo fmt --check"
cargo fmt --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

log "cargo test (SQLite and PostgreSQL)"
results=$(mktemp)
RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}" cargo test --all-targets 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || exit "$status"

# The golden answers agree with an independent reading of the sample catalog.
python3 scripts/golden-oracle.py

# Each test process drops its PostgreSQL template database when it exits.
leftover=$(psql "$JJJ_TEST_POSTGRES_URL" -Atqc "select count(*) from pg_database where datname like 'jjj\_${JJJ_TEST_RUN_ID}\_%\_tpl'")
if [ "$leftover" != 0 ]; then
  echo "the test processes left $leftover template databases behind" >&2
  exit 1
fi

sqlite_count=$(grep -cE '::sqlite \.\.\. ok$' "$results" || true)
postgres_count=$(grep -cE '::postgres \.\.\. ok$' "$results" || true)
sum_of() { grep -E '^test result:' "$results" | sed -E "s/.* ([0-9]+) $1.*/\\1/" | awk '{ n += $1 } END { print n + 0 }'; }
ignored=$(sum_of ignored)
passed=$(sum_of passed)
failed=$(sum_of failed)
log "backends: $sqlite_count tests passed on SQLite, $postgres_count on PostgreSQL"
if [ "$sqlite_count" = 0 ] || [ "$postgres_count" = 0 ] || [ "$sqlite_count" != "$postgres_count" ]; then
  echo "both backends must run the same tests" >&2
  exit 1
fi
if [ "$ignored" != 0 ]; then
  echo "$ignored tests were ignored; the suite must run everything" >&2
  exit 1
fi

# The contract: the spec checked by the tools its consumers use, and against the live
# server on both backends (Schemathesis, a generated TypeScript client).
scripts/contract.sh

# Mutation testing of the lines changed since the last release (docs/TESTING.md).
release=$(git log -1 --format=%H -- openapi/baseline.json 2>/dev/null || true)
if [ -n "$release" ]; then
  log "mutation testing of the lines changed since the last release (${release:0:12})"
  scripts/mutants.sh --since "$release"
else
  log "mutation testing skipped: no release in this clone's history"
fi

echo "all: $passed passed, $failed failed"
