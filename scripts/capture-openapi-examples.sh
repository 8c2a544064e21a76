#!/usr/bin/env bash
# Captures the response examples in openapi/examples/ from a fresh server on the sample
# catalog, then regenerates openapi/openapi.json. Run after changing a response shape.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin jjj-registry
work=$(mktemp -d)
port=18765
DATABASE_URL="sqlite://$work/examples.db" REGISTRY_BIND="127.0.0.1:$port" RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}/debug/jjj-registry" serve &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done

capture() { # capture <operation_id> <path> [python expression trimming `d`]
  curl -sf "http://127.0.0.1:$port/api/v1$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
exec(sys.argv[2])
with open(sys.argv[1], "w") as f:
    json.dump(d, f, ensure_ascii=False, indent=2)
    f.write("\n")
' "openapi/examples/$1.json" "${3:-pass}"
}
capture list_regions /regions
capture get_recognition_status '/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06-01'
capture list_sectors /sectors 'd["items"] = d["items"][:3]'
capture list_recognition_items '/recognition-items?q=ejjzs&limit=1'
capture get_recognition_item /recognition-items/RI-CON-001
capture list_standard_items '/standard-items?q=SS-MR-001&limit=1'
capture get_standard_item /standard-items/SS-MR-001
capture get_standard_item_deviations /standard-items/SS-MR-001/deviations
capture get_deviation_report '/deviations?region=TJ&aspect=time_limit'
capture list_scenarios '/scenarios?limit=1'
capture get_scenario /scenarios/SC-001
capture get_stats '/stats?on=2025-06-01&from=2025-01-01&to=2025-12-31'
capture list_programmes /programmes
capture list_batches /batches 'd["items"] = d["items"][:2]'
capture get_batch /batches/JJJ-2025-02
capture list_targets '/targets?on=2025-12-31' 'd["items"] = d["items"][:2]'
capture get_target '/targets/TG-2025-01?on=2025-12-31'
curl -sf "http://127.0.0.1:$port/api/v1/recognition-status/batch" -H 'content-type: application/json' \
  -d '{"questions": [{"item": "RI-CON-002", "issued_in": "HE", "used_in": "TJ", "on": "2025-06-01"}, {"local_code": "冀建-RY-056", "issued_in": "HE", "used_in": "BJ", "on": "2025-06-01"}, {"item": "RI-XXX-999", "issued_in": "HE", "used_in": "TJ"}]}' |
  python3 -c 'import json, sys; f = open(sys.argv[1], "w"); json.dump(json.load(sys.stdin), f, ensure_ascii=False, indent=2); f.write("\n")' openapi/examples/post_recognition_status_batch.json
cargo run --quiet -- openapi
