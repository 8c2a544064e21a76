#!/usr/bin/env bash
# Captures the response examples in openapi/examples/ from a fresh server on the sample
# catalog, then regenerates openapi/openapi.json. Run after changing a response shape.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin jjj-registry
work=$(mktemp -d)
port=18765
bin="${CARGO_TARGET_DIR:-target}/debug/jjj-registry"
# A development issuer, so that the write examples are real answers too.
export REGISTRY_DEV_SECRET="capture-openapi-examples-development-secret-0123"
DATABASE_URL="sqlite://$work/examples.db" REGISTRY_BIND="127.0.0.1:$port" RUST_LOG=warn "$bin" serve &
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
save() { # save <operation_id>: pretty-prints standard input into the example file
  python3 -c 'import json, sys; f = open(sys.argv[1], "w"); json.dump(json.load(sys.stdin), f, ensure_ascii=False, indent=2); f.write("\n")' "openapi/examples/$1.json"
}
editor_tj=$("$bin" token --region TJ --roles editor --sub zhang.wei)
editor_he=$("$bin" token --region HE --roles editor --sub li.na)
admin=$("$bin" token --region BJ --roles admin --sub auditor)
api="http://127.0.0.1:$port/api/v1"
curl -sf "$api/recognition-items/RI-CON-002/local-parts/TJ" | save get_recognition_local_part
curl -sf -X PATCH "$api/recognition-items/RI-CON-002/local-parts/TJ" -H "authorization: Bearer $editor_tj" \
  -H 'if-match: "RI-CON-002.TJ.1"' -H 'content-type: application/merge-patch+json' \
  -d '{"contact": "022-12345678"}' | save patch_recognition_local_part
curl -sf -X PUT "$api/recognition-items/RI-CON-002/local-parts/TJ" -H "authorization: Bearer $editor_tj" \
  -H 'if-match: "RI-CON-002.TJ.2"' -H 'content-type: application/json' \
  -d "$(python3 -c 'import json; print(json.dumps(json.load(open("openapi/examples/patch_recognition_local_part.json")) | {"notes": "受理地点：天津市政务服务中心"}))' | python3 -c 'import json, sys; d = json.load(sys.stdin); [d.pop(k) for k in ("item_code", "version", "region")]; print(json.dumps(d, ensure_ascii=False))')" \
  | save put_recognition_local_part
curl -sf "$api/standard-items/SS-HR-002/local-parts/HE" | save get_standard_local_part
curl -sf -X PATCH "$api/standard-items/SS-HR-002/local-parts/HE" -H "authorization: Bearer $editor_he" \
  -H 'if-match: "SS-HR-002.HE.1"' -H 'content-type: application/merge-patch+json' \
  -d '{"channels": ["online_end_to_end", "self_service_terminal"], "terminal_identity": ["social_security_card"]}' | save patch_standard_local_part
curl -sf -X PUT "$api/standard-items/SS-HR-002/local-parts/HE" -H "authorization: Bearer $editor_he" \
  -H 'if-match: "SS-HR-002.HE.2"' -H 'content-type: application/json' \
  -d "$(python3 -c 'import json; d = json.load(open("openapi/examples/patch_standard_local_part.json")); [d.pop(k) for k in ("item_code", "version", "region")]; d["time_limit_days"] = 5; print(json.dumps(d, ensure_ascii=False))')" \
  | save put_standard_local_part
# One refused attempt (Tianjin's editor on Hebei's side) so the log shows both outcomes.
curl -s -o /dev/null -X PATCH "$api/standard-items/SS-HR-002/local-parts/HE" -H "authorization: Bearer $editor_tj" \
  -H 'if-match: "SS-HR-002.HE.3"' -H 'content-type: application/merge-patch+json' -d '{"time_limit_days": 1}'
# A proposal of Tianjin's, approved by Beijing so far; a second one, withdrawn.
approver_bj=$("$bin" token --region BJ --roles approver --sub wang.fang)
# The entry's version as read (the local-part edits above moved it on).
base=$(curl -sf "$api/recognition-items/RI-CON-002" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
curl -sf -X POST "$api/proposals" -H "authorization: Bearer $editor_tj" -H 'content-type: application/json' \
  -d '{"title": "天津 accepts 河北 Grade II constructor certificates under the 2026 joint notice", "rationale": "Joint notice of the three offices, 2026-11.", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": '"$base"', "patch": {"legal_basis": "《注册建造师管理规定》（建设部令第153号）；京津冀三地联合通知（2026）"}}]}' \
  | save create_proposal
curl -sf -X POST "$api/proposals/1/votes" -H "authorization: Bearer $approver_bj" -H 'if-match: "P1.1"' \
  -H 'content-type: application/json' -d '{"ballot": "approve", "comment": "北京市住建委同意。"}' | save vote_on_proposal
curl -sf "$api/proposals/1" | save get_proposal
curl -sf -X POST "$api/proposals" -H "authorization: Bearer $editor_tj" -H 'content-type: application/json' \
  -d '{"title": "Retire RI-CON-002 from 2027", "changes": [{"action": "retire", "kind": "recognition_item", "code": "RI-CON-002", "base_version": '"$base"', "effective_on": "2027-01-01"}]}' >/dev/null
curl -sf -X POST "$api/proposals/2/withdrawal" -H "authorization: Bearer $editor_tj" -H 'if-match: "P2.1"' \
  -H 'content-type: application/json' -d '{"reason": "Superseded by the 2026 joint notice."}' | save withdraw_proposal
curl -sf "$api/proposals?state=open&awaiting=HE" | save list_proposals
# Tianjin suspends, then lifts, its acceptance of Hebei's certificates under RI-CON-002.
approver_tj=$("$bin" token --region TJ --roles approver --sub zhao.min)
curl -sf -X POST "$api/recognition-items/RI-CON-002/suspensions" -H "authorization: Bearer $approver_tj" \
  -H 'content-type: application/json' -d '{"used_in": "TJ", "issued_in": "HE", "reason": "电子证照核验接口升级维护，暂停受理"}' | save suspend_acceptance
curl -sf "$api/recognition-items/RI-CON-002/suspensions/1" | save get_suspension
curl -sf -X POST "$api/recognition-items/RI-CON-002/suspensions/1/lifting" -H "authorization: Bearer $approver_tj" \
  -H 'content-type: application/json' -d '{"reason": "核验接口已恢复"}' | save lift_suspension
curl -sf "$api/audit?after=3&limit=2" -H "authorization: Bearer $admin" | save list_audit_records
curl -sf "$api/audit/verify" -H "authorization: Bearer $admin" | save verify_audit_log
# The last changes of the feed: the proposal's and the suspension's among them.
head=$(curl -sf "$api/changes?after=0&limit=1000&minimal=true" | python3 -c 'import json, sys; print(json.load(sys.stdin)["next_after"])')
curl -sf "$api/changes?after=$((head - 4))&limit=3" | save list_changes
# Entry history: the edits above made new versions.
curl -sf "$api/recognition-items/RI-CON-002/versions" | save list_recognition_item_versions
curl -sf "$api/recognition-items/RI-CON-002/versions/2" | save get_recognition_item_version
curl -sf "$api/recognition-items/RI-CON-002/diff?from=1&to=2" | save diff_recognition_item_versions
curl -sf "$api/standard-items/SS-HR-002/versions" | save list_standard_item_versions
curl -sf "$api/standard-items/SS-HR-002/versions/2" | save get_standard_item_version
curl -sf "$api/standard-items/SS-HR-002/diff?from=1&to=2" | save diff_standard_item_versions
curl -sf "$api/scenarios/SC-001/versions" | save list_scenario_versions
curl -sf "$api/scenarios/SC-001/versions/1" | save get_scenario_version
curl -sf "$api/scenarios/SC-001/diff?from=1" | save diff_scenario_versions
curl -sf "$api/targets/TG-2025-01/versions" | save list_target_versions
curl -sf "$api/targets/TG-2025-01/versions/1" | save get_target_version
curl -sf "$api/targets/TG-2025-01/diff?from=1" | save diff_target_versions
cargo run --quiet -- openapi
