#!/usr/bin/env bash
# lint.sh SPEC: Spectral (spectral:oas) and Redocly (recommended) on an OpenAPI file;
# fails on any error (warnings are printed, not fatal).
set -euo pipefail
spec=$(realpath "$1")
cd "$(dirname "$0")"
./npm-install.sh .
echo "Spectral (spectral:oas):"
node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity error "$spec"
echo "Redocly (recommended):"
node_modules/.bin/redocly lint --config redocly.yaml --format stylish "$spec"
