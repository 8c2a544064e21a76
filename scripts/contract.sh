#!/usr/bin/env bash
# Checks that openapi/openapi.json tells the truth, with the tools its consumers use:
#   static: the OpenAPI 3.1 meta-schema, every $ref and example (contract/validate_spec.py),
#           Spectral and Redocly lint, breaking changes against openapi/baseline.json;
#   live, on SQLite and on PostgreSQL: Schemathesis against the running server, and a
#           TypeScript client generated from the spec, compiled with tsc --strict and run.
# Installs its own tools (a virtualenv and node_modules inside the repository, from
# pinned versions and lock files). Needs the debug binary (cargo build) and, for the
# PostgreSQL run, JJJ_TEST_POSTGRES_URL (scripts/test.sh sets it and starts the server).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }
spec=openapi/openapi.json
binary="${CARGO_TARGET_DIR:-target}/debug/jjj-registry"
postgres_admin="${JJJ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
run_id="${JJJ_TEST_RUN_ID:-c$(date +%s)$$}"
[ -x "$binary" ] || cargo build --quiet --bin jjj-registry

log "contract: the spec against the OpenAPI 3.1 meta-schema, its references and examples"
contract/venv.sh
contract/.venv/bin/python contract/validate_spec.py "$spec"

log "contract: Spectral (spectral:oas) and Redocly (recommended)"
contract/lint.sh "$spec"

log "contract: breaking changes since the last release (openapi/baseline.json)"
contract/breaking.sh "$spec" openapi/baseline.json

# The checkers themselves must be able to fail: each is shown a spec broken on purpose.
log "contract: the checkers catch a broken spec"
work=$(mktemp -d)
python3 - "$spec" "$work" <<'PY'
import copy, json, sys
spec = json.load(open(sys.argv[1]))
removed = copy.deepcopy(spec)
del removed["paths"]["/api/v1/stats"]
json.dump(removed, open(f"{sys.argv[2]}/removed-operation.json", "w"))
wrong = copy.deepcopy(spec)
wrong["components"]["schemas"]["ItemKind"]["enum"] = ["PersonalQualification"]
json.dump(wrong, open(f"{sys.argv[2]}/wrong-enum.json", "w"))
PY
if contract/breaking.sh "$work/removed-operation.json" "$spec" >/dev/null 2>&1; then
  echo "breaking.sh accepted a spec without /api/v1/stats" >&2
  exit 1
fi
if contract/.venv/bin/python contract/validate_spec.py "$work/wrong-enum.json" >/dev/null 2>&1; then
  echo "validate_spec.py accepted examples that contradict their enum" >&2
  exit 1
fi
echo "both refused it"

# The servers accept development tokens, so that the writes are checked with a token of
# each region as well as anonymously.
dev_secret="contract-checks-development-secret-$(date +%s)-0123456789"
token() { REGISTRY_DEV_SECRET="$dev_secret" "$binary" token --region "$1" --roles "$2" --ttl 1h --sub "contract-$1"; }
servers=()
databases=()
stop_servers() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for db in "${databases[@]}"; do
    psql "$postgres_admin" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
  done
}
trap stop_servers EXIT

# start_server <DATABASE_URL> <log file>: starts the API on a free port with the sample
# catalog and sets `base` to its URL once /readyz answers. Schemathesis sends hundreds
# of requests a second from one address: the rate limits (tests/api/access.rs) are off
# here so that it checks the answers, not a wall of 429s.
start_server() {
  DATABASE_URL="$1" REGISTRY_BIND=127.0.0.1:0 REGISTRY_SAMPLE_CATALOG=always \
    REGISTRY_DEV_SECRET="$dev_secret" REGISTRY_WEBHOOK_HOSTS=sync.tj.example \
    REGISTRY_WORKERS=2 RUST_LOG=warn,jjj_registry=info \
    REGISTRY_READ_RATE_LIMIT=0 REGISTRY_WRITE_RATE_LIMIT=0 "$binary" serve >"$2" 2>&1 &
  servers+=("$!")
  base=""
  for _ in $(seq 1 100); do
    base=$(grep -o 'listening on http://[0-9.:]*' "$2" | head -n1 | sed 's/listening on //' || true)
    if [ -n "$base" ] && curl -sf "$base/readyz" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "the server did not start:" >&2
  cat "$2" >&2
  return 1
}

for backend in sqlite postgres; do
  case "$backend" in
    sqlite) url="sqlite://$work/contract.db" ;;
    postgres)
      db="jjj_${run_id}_contract"
      psql "$postgres_admin" -qc "create database \"$db\"" >/dev/null
      databases+=("$db")
      url="${postgres_admin%/*}/$db"
      ;;
  esac
  start_server "$url" "$work/$backend.log"

  log "contract ($backend): Schemathesis against $base"
  contract/schemathesis.sh "$spec" "$base"

  for region in BJ TJ HE; do
    log "contract ($backend): Schemathesis on the writes, proposals, suspensions and the audit log with an editor, approver and admin token of $region"
    JJJ_TOKEN_REGION=$region SCHEMATHESIS_MAX_EXAMPLES="${SCHEMATHESIS_TOKEN_EXAMPLES:-25}" contract/schemathesis.sh "$spec" "$base" \
      --include-tag editing --include-tag proposals --include-tag suspensions --include-tag audit --include-tag exchange --include-tag webhooks -H "Authorization: Bearer $(token "$region" editor,approver,admin)"
  done
  log "contract ($backend): the export read by openpyxl and Python's csv module, resaved, and imported back unchanged"
  contract/.venv/bin/python contract/exchange_check.py "$base" "$(token TJ editor)"
  log "contract ($backend): every accepted change in the audit log was made by the region it changed, or is a shared action"
  curl -sf "$base/api/v1/audit/verify" -H "Authorization: Bearer $(token BJ admin)" |
    python3 -c 'import json, sys; v = json.load(sys.stdin); assert v["intact"], v; print("audit chain intact:", v["records"], "records")'
  python3 - "$base" "$(token BJ admin)" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
SHARED = {"propose", "vote", "withdraw_proposal", "apply_proposal"}
# An administrator manages any region's webhook subscriptions (they are no catalog data).
ADMINISTERED = {"resume_webhook", "unsubscribe_webhook"}
after, accepted, crossed = 0, 0, []
while True:
    request = urllib.request.Request(f"{base}/api/v1/audit?after={after}&limit=500", headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(request))
    for record in page["items"]:
        if record["outcome"] == "accepted":
            accepted += 1
            # Shared actions (proposals, votes, applied proposals) name no target
            # region; every other accepted change must be the actor's own region's.
            shared = record["target_region"] is None and record["action"] in SHARED
            shared = shared or (record["action"] in ADMINISTERED and "admin" in record["roles"])
            if not shared and record["region"] != (record["target_region"] or "").upper():
                crossed.append(record)
    if page["next_after"] is None:
        break
    after = page["next_after"]
if crossed:
    sys.exit(f"accepted changes outside the actor's region: {crossed[:3]}")
print(f"{accepted} accepted changes, each by the region it changed")
PY

  log "contract ($backend): /metrics read by the Prometheus client library's OpenMetrics parser"
  contract/.venv/bin/python contract/metrics_check.py "$base"

  log "contract ($backend): the generated TypeScript client, compiled and run against $base"
  BASE_URL="$base" TOKEN="$(token TJ editor)" clients/typescript/run.sh
done
rm -rf "$work"
log "contract: all checks passed"
