#!/usr/bin/env bash
# kill -9 during a 10,000-item import, ROUNDS (5) times per backend: afterwards the
# items are wholly there or wholly absent, and the audit chain verifies.
#   scripts/reliability/kill9-import.sh
#   BACKENDS=sqlite ROUNDS=3 ITEMS=2000 scripts/reliability/kill9-import.sh
# The import is `jjj-registry import FILE` into an empty database (the command line's
# load; an HTTP import is one proposal, applied by the same kind of transaction). Each
# round kills it at a random moment between 0.3 s and the time a whole import took, so
# that both outcomes occur. Uses the release binary when there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${ROUNDS:-5}"
items="${ITEMS:-10000}"
admin="${JJJ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
binary="${CARGO_TARGET_DIR:-target}/release/jjj-registry"
if [ ! -x "$binary" ]; then
  cargo build --quiet --bin jjj-registry
  binary="${CARGO_TARGET_DIR:-target}/debug/jjj-registry"
fi
work=$(mktemp -d)
databases=()
cleanup() {
  for db in "${databases[@]}"; do psql "$admin" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fresh_database() { # fresh_database <backend> <name>
  if [ "$1" = postgres ]; then
    local db="jjj_kill9_import_$2_$$"
    psql "$admin" -qc "create database $db" >/dev/null
    databases+=("$db")
    echo "${admin%/*}/$db"
  else
    echo "sqlite://$work/$2.db"
  fi
}
registry() { env DATABASE_URL="$1" REGISTRY_SAMPLE_CATALOG=never RUST_LOG=warn "$binary" "${@:2}"; }

sample=$(fresh_database sqlite sample)
registry "$sample" load-sample >/dev/null
registry "$sample" export --format json -o "$work/sample.json" 2>/dev/null
python3 bench/generate.py "$work/sample.json" "$items" >"$work/import.json"
expected=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["recognition_items"]))' "$work/import.json")
count_items() { # count_items <url>: recognition items in the database's export
  registry "$1" export --format json -o "$work/after.json" 2>/dev/null
  python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("recognition_items", [])))' "$work/after.json"
}

failed=0
for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_database "$backend" whole)
  registry "$url" migrate >/dev/null
  started=$(date +%s.%N)
  registry "$url" import "$work/import.json" >/dev/null 2>&1
  whole=$(python3 -c "import sys; print(round($(date +%s.%N) - $started, 2))")
  echo "== $backend: a whole import of $expected items takes ${whole} s; $rounds rounds of SIGKILL during it"
  for round in $(seq 1 "$rounds"); do
    url=$(fresh_database "$backend" "r$round")
    registry "$url" migrate >/dev/null
    delay=$(python3 -c "import random; print(round(random.uniform(0.3, $whole + 0.5), 2))")
    registry "$url" import "$work/import.json" >/dev/null 2>&1 &
    importer=$!
    sleep "$delay"
    # env runs the binary in its own process (exec): kill that one.
    pkill -KILL -P "$importer" 2>/dev/null || true
    kill -KILL "$importer" 2>/dev/null || true
    wait "$importer" 2>/dev/null || true
    found=$(count_items "$url")
    if [ "$found" = 0 ] || [ "$found" = "$expected" ]; then verdict="whole"; else verdict="HALF"; failed=1; fi
    if ! registry "$url" verify-audit >/dev/null 2>&1; then verdict="$verdict, AUDIT CHAIN BROKEN"; failed=1; fi
    echo "round $round: killed after ${delay} s: $found of $expected items ($verdict)"
  done
done
exit "$failed"
