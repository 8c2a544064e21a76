#!/usr/bin/env bash
# breaking.sh SPEC BASELINE: fails when SPEC breaks clients written against BASELINE
# (the spec of the last release) and `info.version` was not bumped for it: a new major
# version, or a new minor one while the major is 0 (semver's rule for 0.x). The diff is
# Optic's (its standard breaking-change rules), run offline.
set -euo pipefail
spec=$(realpath "$1")
baseline=$(realpath "$2")
cd "$(dirname "$0")"
./npm-install.sh .
export OPTIC_TELEMETRY_LEVEL=off
version_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["info"]["version"])' "$1"; }
current=$(version_of "$spec")
released=$(version_of "$baseline")
report=$(mktemp)
trap 'rm -f "$report"' EXIT
if node_modules/.bin/optic diff "$baseline" "$spec" --check >"$report" 2>&1; then
  echo "no breaking change since $released (now $current)"
  exit 0
fi
if ! grep -q "Checks:" "$report"; then
  cat "$report"
  echo "the differ itself failed" >&2
  exit 2
fi
if python3 - "$released" "$current" <<'PY'
import sys
def parse(v):
    return tuple(int(p) for p in v.split("-")[0].split(".")[:3])
old, new = parse(sys.argv[1]), parse(sys.argv[2])
allowed = new[0] > old[0] or (old[0] == 0 and new[0] == 0 and new[1] > old[1])
sys.exit(0 if allowed else 1)
PY
then
  echo "breaking changes since $released are allowed: the version is now $current"
  grep -E '^\s*x ' "$report" | sed 's/^ */  /' | sort | uniq | head -50
  exit 0
fi
grep -E '^\s*x |Checks:' "$report" | sed 's/^ */  /' | sort | uniq
echo "openapi/openapi.json breaks clients of $released without a version bump (info.version is $current)." >&2
echo "Make the change compatible, or bump the version in Cargo.toml (major; minor while 0.x)." >&2
exit 1
