#!/usr/bin/env bash
# run.sh: generates the TypeScript types from the OpenAPI file (SPEC, default
# openapi/openapi.json), compiles the example app with tsc --strict, and runs it against
# BASE_URL (default http://127.0.0.1:8080); with TOKEN (a Tianjin editor token) it also
# makes an edit. Installs its own packages from the lock file.
set -euo pipefail
cd "$(dirname "$0")"
spec=$(realpath "${SPEC:-../../openapi/openapi.json}")
../../contract/npm-install.sh .
rm -rf dist src/schema.d.ts
node_modules/.bin/openapi-typescript "$spec" --output src/schema.d.ts
node_modules/.bin/tsc --project tsconfig.json
BASE_URL="${BASE_URL:-http://127.0.0.1:8080}" TOKEN="${TOKEN:-}" node dist/example.js
