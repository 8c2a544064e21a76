#!/usr/bin/env bash
# Mutation testing with a pinned cargo-mutants: which lines of the domain and of the
# answer-building code can be broken without any test noticing?
#
#   scripts/mutants.sh                 every mutant in .cargo/mutants.toml's examine_globs
#   scripts/mutants.sh --file F ...    only these files (cargo-mutants' own options pass through)
#   scripts/mutants.sh --since REV     only mutants in lines changed since REV (CI uses the
#                                      commit of the last release: the last change to
#                                      openapi/baseline.json)
#
# Needs the test databases as scripts/test.sh provides them (PostgreSQL reachable at
# JJJ_TEST_POSTGRES_URL). Results land in mutants.out/; the exit status is non-zero
# when a mutant survives (cargo-mutants' own convention).
set -euo pipefail
cd "$(dirname "$0")/.."

version=27.0.0
tools="${CARGO_TARGET_DIR:-target}/tools"
if [ "$("$tools/bin/cargo-mutants" --version 2>/dev/null)" != "cargo-mutants $version" ]; then
  echo "installing cargo-mutants $version into $tools"
  cargo install --quiet --locked --version "$version" --root "$tools" cargo-mutants
fi
export PATH="$PWD/$tools/bin:$PATH"

args=()
if [ "${1:-}" = "--since" ]; then
  diff_file=$(mktemp)
  git diff "$2" -- src/ > "$diff_file"
  shift 2
  if [ ! -s "$diff_file" ]; then
    echo "no source lines changed since the last release: no mutants to test"
    exit 0
  fi
  args+=(--in-diff "$diff_file")
fi
exec cargo mutants --no-shuffle --timeout 300 "${args[@]}" "$@"
