#!/usr/bin/env bash
# Read-path benchmark: a constant endpoint (/healthz) against the recognition-status
# lookup (random items, random ordered region pairs, random dates), in one run on one
# machine, alternating rounds. Prints both rates, the ratio and p50/p99 latencies.
#
#   bench/run.sh                 # 3 rounds of 10 s per endpoint
#   ROUNDS=5 DURATION=20s bench/run.sh
#   WRITE_CLIENTS=16 bench/run.sh          # then local-part writes (bench/writes.py): alone,
#                                          # and beside the status lookups
#   BACKEND=postgres WRITE_CLIENTS=16 bench/run.sh
#   READS=status bench/run.sh              # only the constant and the status lookup (default:
#                                          # also an item, a list page, a search, a feed poll)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WORKERS="${WORKERS:-2}"
PORT="${PORT:-18080}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --quiet --bin jjj-registry
binary="${CARGO_TARGET_DIR:-target}/release/jjj-registry"
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# The database: embedded SQLite by default; BACKEND=postgres uses a fresh database on
# JJJ_TEST_POSTGRES_URL's server, dropped afterwards.
database_url="sqlite://$work/bench.db"
if [ "${BACKEND:-sqlite}" = postgres ]; then
  admin="${JJJ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  pg_db="jjj_bench_$$"
  psql "$admin" -qc "create database $pg_db" >/dev/null
  database_url="${admin%/*}/$pg_db"
  trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"; psql "$admin" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1' EXIT
fi
# Development tokens, for the write phases.
export REGISTRY_DEV_SECRET="bench-development-secret-$(date +%s)-0123456789abcdef"
# One client address sends the whole load: the rate limits would answer it 429.
export REGISTRY_READ_RATE_LIMIT=0 REGISTRY_WRITE_RATE_LIMIT=0

# Access logs are off for both endpoints alike (RUST_LOG=warn): formatting a log line per
# request would measure the logger, not the read path.
DATABASE_URL="$database_url" REGISTRY_SAMPLE_CATALOG=always REGISTRY_BIND="127.0.0.1:$PORT" REGISTRY_WORKERS="$WORKERS" RUST_LOG=warn \
  "$binary" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

# Every item code of the catalog, for the Lua script to pick from.
codes=$(curl -sf "http://127.0.0.1:$PORT/api/v1/recognition-items?limit=200" |
  python3 -c 'import json,sys; print(",".join("\"%s\"" % i["code"] for i in json.load(sys.stdin)["items"]))')
# The random questions are formatted once per wrk thread, so that generating them does
# not take CPU from the server (wrk and the server share the machine's cores).
cat >"$work/status.lua" <<LUA
local items = { $codes }
local region_pairs = { {"BJ","TJ"}, {"BJ","HE"}, {"TJ","BJ"}, {"TJ","HE"}, {"HE","BJ"}, {"HE","TJ"} }
local requests = {}
local next_index = 1
local thread_number = 0
setup = function(thread)
  thread_number = thread_number + 1
  thread:set("seed", 42 + thread_number)
end
init = function(args)
  math.randomseed(seed)
  for i = 1, 8192 do
    local item = items[math.random(#items)]
    local pair = region_pairs[math.random(#region_pairs)]
    local day = string.format("%04d-%02d-%02d", math.random(2021, 2027), math.random(1, 12), math.random(1, 28))
    requests[i] = wrk.format("GET", "/api/v1/recognition-status?item=" .. item .. "&issued_in=" .. pair[1] .. "&used_in=" .. pair[2] .. "&on=" .. day)
  end
end
request = function()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
LUA

# Sanity: the lookup answers 200 with a decision.
curl -sf "http://127.0.0.1:$PORT/api/v1/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ" | grep -q '"decision"'

to_us() { # wrk latency (512.00us, 1.23ms, 1.02s) -> microseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000; else if (v ~ /s$/) f = 1000000; printf "%.0f", n * f }'
}
run() { # run <wrk args...>; prints "rate p50_us p99_us"
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx responses: $out" >&2; exit 1; fi
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_us "$(echo "$out" | awk '$1=="50%" {print $2}')") $(to_us "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}

# The other reads of #9's targets, each measured in the same rounds as the constant:
# an item (≈3 KB), a 20-item list page (≈66 KB), a search, an empty poll of the feed.
head=$(curl -sf "http://127.0.0.1:$PORT/api/v1/changes?after=0&limit=1000&minimal=true" | python3 -c 'import json, sys; print(json.load(sys.stdin)["next_after"])')
extra_names=("item GET" "list page (20)" "search q=ejjzs" "empty feed poll")
extra_paths=("/api/v1/recognition-items/RI-CON-002" "/api/v1/recognition-items?limit=20" "/api/v1/recognition-items?q=ejjzs" "/api/v1/changes?after=$head")
declare -A extra

wrk -t1 -c8 -d2s "http://127.0.0.1:$PORT/healthz" >/dev/null   # warm-up
constant=(); status=()
for round in $(seq 1 "$ROUNDS"); do
  constant+=("$(run "http://127.0.0.1:$PORT/healthz")")
  status+=("$(run -s "$work/status.lua" "http://127.0.0.1:$PORT")")
  echo "round $round: constant ${constant[-1]} | status ${status[-1]}" >&2
  if [ "${READS:-all}" = all ]; then
    for i in "${!extra_paths[@]}"; do
      extra[$i,$round]="$(run "http://127.0.0.1:$PORT${extra_paths[$i]}")"
      echo "round $round: ${extra_names[$i]} ${extra[$i,$round]}" >&2
    done
  fi
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
column() { local i=$1; shift; for row in "$@"; do echo "$row" | awk -v i="$i" '{print $i}'; done; }
c_rate=$(median $(column 1 "${constant[@]}")); s_rate=$(median $(column 1 "${status[@]}"))

echo
echo "machine: $(nproc) cores; server workers: $WORKERS; wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, medians"
printf '%-28s %12s %10s %10s\n' endpoint "req/s" "p50 (us)" "p99 (us)"
printf '%-28s %12s %10s %10s\n' "GET /healthz (constant)" "$c_rate" "$(median $(column 2 "${constant[@]}"))" "$(median $(column 3 "${constant[@]}"))"
printf '%-28s %12s %10s %10s\n' "GET /recognition-status" "$s_rate" "$(median $(column 2 "${status[@]}"))" "$(median $(column 3 "${status[@]}"))"
echo "ratio of the medians: $(awk -v s="$s_rate" -v c="$c_rate" 'BEGIN { printf "%.2f", s / c }')"
# Each round measures both endpoints back to back, so a per-round ratio cancels drift in
# what else the machine is doing; their median is the figure to quote.
ratios=()
for i in $(seq 0 $((ROUNDS - 1))); do
  ratios+=("$(awk -v s="$(echo "${status[$i]}" | awk '{print $1}')" -v c="$(echo "${constant[$i]}" | awk '{print $1}')" 'BEGIN { printf "%.3f", s / c }')")
done
echo "per-round ratios: ${ratios[*]}"
echo "median per-round ratio status/constant: $(median "${ratios[@]}")"
if [ "${READS:-all}" = all ]; then
  for i in "${!extra_paths[@]}"; do
    rows=(); ratios=()
    for round in $(seq 1 "$ROUNDS"); do
      rows+=("${extra[$i,$round]}")
      ratios+=("$(awk -v s="$(echo "${extra[$i,$round]}" | awk '{print $1}')" -v c="$(echo "${constant[$((round - 1))]}" | awk '{print $1}')" 'BEGIN { printf "%.3f", s / c }')")
    done
    printf '%-28s %12s %10s %10s   ratio to constant (median per round): %s\n' "${extra_names[$i]}" \
      "$(median $(column 1 "${rows[@]}"))" "$(median $(column 2 "${rows[@]}"))" "$(median $(column 3 "${rows[@]}"))" "$(median "${ratios[@]}")"
  done
fi

# Writes: editors changing their own regions' sides with If-Match, each write durably
# committed with its audit record; first alone, then while wrk reads.
if [ "${WRITE_CLIENTS:-0}" -gt 0 ]; then
  tokens=$(python3 -c '
import json, subprocess, sys
print(json.dumps({r: subprocess.check_output([sys.argv[1], "token", "--region", r, "--roles", "editor", "--ttl", "1h"], stderr=subprocess.DEVNULL).decode().strip() for r in ["BJ", "TJ", "HE"]}))' "$binary")
  seconds=${DURATION%s}
  alone=$(python3 bench/writes.py "http://127.0.0.1:$PORT" "$seconds" "$WRITE_CLIENTS" "$tokens")
  python3 bench/writes.py "http://127.0.0.1:$PORT" "$seconds" "$WRITE_CLIENTS" "$tokens" >"$work/beside.json" &
  writer=$!
  beside_reads=$(run -s "$work/status.lua" "http://127.0.0.1:$PORT")
  wait "$writer"
  echo
  echo "backend: ${BACKEND:-sqlite}; $WRITE_CLIENTS write clients; PATCH of a local part with If-Match, audited"
  echo "writes alone:             $alone"
  echo "writes beside the reads:  $(cat "$work/beside.json")"
  echo "status reads beside the writes: $(echo "$beside_reads" | awk '{print $1}') req/s (alone, median: $s_rate), p50 $(echo "$beside_reads" | awk '{print $2}') us, p99 $(echo "$beside_reads" | awk '{print $3}') us"
  echo "reads beside writes / reads alone: $(awk -v b="$(echo "$beside_reads" | awk '{print $1}')" -v a="$s_rate" 'BEGIN { printf "%.2f", b / a }')"
fi
