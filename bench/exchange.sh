#!/usr/bin/env bash
# Bulk exchange benchmark: import and export at the sizes the programme works at.
#
#   bench/exchange.sh                      # SQLite
#   BACKEND=postgres bench/exchange.sh
#   ITEMS=10000 EXPORT_ITEMS=100000 bench/exchange.sh
#
# 1. Import of ITEMS generated recognition items (plus the sample catalog), from the
#    command line into an empty database: dry run, then the real load.
# 2. The same file over HTTP against the sample catalog, by a region's editor: dry run,
#    then the real import (the new items become one proposal).
# 3. Export of a catalog of EXPORT_ITEMS items, from the command line and over HTTP,
#    in JSON, one CSV sheet and XLSX: time, size, and peak memory (of the command; of
#    the server before and after).
# Every figure is wall-clock time on this machine, printed as it is measured.
set -euo pipefail
cd "$(dirname "$0")/.."

ITEMS="${ITEMS:-10000}"
EXPORT_ITEMS="${EXPORT_ITEMS:-100000}"
PORT="${PORT:-18090}"

cargo build --release --quiet --bin jjj-registry
binary="$PWD/${CARGO_TARGET_DIR:-target}/release/jjj-registry"
work=$(mktemp -d)
admin="${JJJ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
databases=()
cleanup() {
  kill "${server:-}" 2>/dev/null || true
  for db in "${databases[@]}"; do psql "$admin" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh, empty database of the backend under test.
fresh_database() { # fresh_database <name>
  if [ "${BACKEND:-sqlite}" = postgres ]; then
    local db="jjj_bench_$1_$$"
    psql "$admin" -qc "create database $db" >/dev/null
    databases+=("$db")
    echo "${admin%/*}/$db"
  else
    echo "sqlite://$work/$1.db"
  fi
}

# Runs a command, printing its wall time and peak memory (of the command itself).
measure() { # measure <label> <program> <args>...
  local out="$work/time.out"
  /usr/bin/time -f '%e %M' -o "$out" "${@:2}" >/dev/null
  read -r seconds kilobytes <"$out"
  printf '%-46s %7.2f s   peak %6d MB\n' "$1" "$seconds" "$((kilobytes / 1024))"
}

# The binary on database $1, with the rest of the arguments.
registry() { env DATABASE_URL="$1" REGISTRY_SAMPLE_CATALOG=never "$binary" "${@:2}"; }

echo "== files"
sample_db=$(fresh_database sample)
registry "$sample_db" load-sample >/dev/null
registry "$sample_db" export --format json -o "$work/sample.json" 2>/dev/null
python3 bench/generate.py "$work/sample.json" "$ITEMS" >"$work/import.json"
python3 bench/generate.py "$work/sample.json" "$EXPORT_ITEMS" >"$work/export.json"
printf 'import file: %s items, %s MB; export catalog: %s items\n' \
  "$ITEMS" "$(($(stat -c %s "$work/import.json") / 1048576))" "$EXPORT_ITEMS"

echo "== import from the command line into an empty database (${BACKEND:-sqlite})"
target=$(fresh_database target)
registry "$target" migrate >/dev/null
measure "dry run ($ITEMS items)" env DATABASE_URL="$target" "$binary" import "$work/import.json" --dry-run
measure "import ($ITEMS items)" env DATABASE_URL="$target" "$binary" import "$work/import.json"

echo "== import over HTTP, by Tianjin's editor, against the sample catalog"
export REGISTRY_DEV_SECRET="bench-development-secret-$(date +%s)-0123456789abcdef"
# One client address sends the whole load: the rate limits would answer it 429.
export REGISTRY_READ_RATE_LIMIT=0 REGISTRY_WRITE_RATE_LIMIT=0
http_db=$(fresh_database http)
registry "$http_db" load-sample >/dev/null
DATABASE_URL="$http_db" REGISTRY_SAMPLE_CATALOG=never REGISTRY_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  REGISTRY_MAX_IMPORT_BYTES=$((256 * 1024 * 1024)) "$binary" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
token=$(DATABASE_URL="$http_db" "$binary" token --region TJ --roles editor --sub bench)
post_import() { # post_import <label> <query>
  measure "$1" curl -sf -o "$work/import-result.json" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data-binary @"$work/import.json" \
    "http://127.0.0.1:$PORT/api/v1/import$2"
}
post_import "dry run over HTTP ($ITEMS items)" "?dry_run=true"
post_import "import over HTTP: one proposal ($ITEMS items)" ""
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); p=r['proposal']; print(f\"  proposal {p['id']}: {p['changes']} changes, participants {p['participants']}\")" "$work/import-result.json"
kill "$server"; wait "$server" 2>/dev/null || true

echo "== export of $EXPORT_ITEMS items (${BACKEND:-sqlite})"
big=$(fresh_database big)
registry "$big" migrate >/dev/null
measure "load $EXPORT_ITEMS items (command line import)" env DATABASE_URL="$big" "$binary" import "$work/export.json"
measure "export json (command line)" env DATABASE_URL="$big" "$binary" export --format json -o "$work/out.json"
measure "export csv recognition_local_parts (cli)" env DATABASE_URL="$big" "$binary" export --format csv --sheet recognition_local_parts -o "$work/out.csv"
measure "export xlsx (command line)" env DATABASE_URL="$big" "$binary" export --format xlsx -o "$work/out.xlsx"
printf '  sizes: json %s MB, csv %s MB, xlsx %s MB\n' "$(($(stat -c %s "$work/out.json") / 1048576))" \
  "$(($(stat -c %s "$work/out.csv") / 1048576))" "$(($(stat -c %s "$work/out.xlsx") / 1048576))"
DATABASE_URL="$big" REGISTRY_SAMPLE_CATALOG=never REGISTRY_BIND="127.0.0.1:$PORT" RUST_LOG=warn "$binary" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ { printf "%d MB", $2 / 1024 }' "/proc/$server/status"; }
echo "  server RSS with the catalog loaded: $(rss)"
for path in "export?format=json" "export/sheets/recognition_local_parts" "export?format=xlsx"; do
  seconds=$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/api/v1/$path")
  printf '%-44s %7.2f s   server RSS after: %s\n' "GET /api/v1/$path" "$seconds" "$(rss)"
done
