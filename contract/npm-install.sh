#!/usr/bin/env bash
# npm-install.sh DIR: installs DIR's node packages exactly as its package-lock.json
# pins them (npm ci), unless node_modules is already newer than the lock file.
set -euo pipefail
cd "$1"
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
echo "installing node packages in $1 from package-lock.json"
npm ci --no-audit --no-fund --loglevel=error
