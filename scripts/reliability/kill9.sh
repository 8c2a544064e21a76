#!/usr/bin/env bash
# kill -9 during a stream of writes, ROUNDS (50) times, on SQLite and on PostgreSQL
# (a fresh database each); see kill9.py for what is checked. Results: docs/RELIABILITY.md.
#   scripts/reliability/kill9.sh            both backends
#   BACKENDS=sqlite ROUNDS=10 scripts/reliability/kill9.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${ROUNDS:-50}"
admin="${JJJ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo build --quiet --bin jjj-registry
binary="${CARGO_TARGET_DIR:-target}/debug/jjj-registry"
work=$(mktemp -d)
pg_db="jjj_kill9_$(date +%s)_$$"
trap 'rm -rf "$work"; psql "$admin" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1 || true' EXIT
for backend in ${BACKENDS:-sqlite postgres}; do
  case "$backend" in
    sqlite) url="sqlite://$work/kill9.db" ;;
    postgres)
      pg_isready -q -h 127.0.0.1 || { echo "PostgreSQL is not answering on 127.0.0.1:5432; scripts/test.sh starts it" >&2; exit 1; }
      psql "$admin" -qc "create database $pg_db" >/dev/null
      url="${admin%/*}/$pg_db"
      ;;
  esac
  echo "== $backend: $rounds rounds of SIGKILL during writes"
  python3 scripts/reliability/kill9.py "$binary" "$url" "$rounds"
done
