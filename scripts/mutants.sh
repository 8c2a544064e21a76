#!/usr/bin/env bash
# Mutation testing with a pinned cargo-mutants: which lines of the domain and of the
# answer-building code can be broken without any test noticing?
#
#   scripts/mutants.sh                 every mutant in .cargo/mutants.toml's examine_globs
#   scripts/mutants.sh --file F ...    only these files (cargo-mutants' own options pass through)
#   scripts/mutants.sh --since REV     only mutants in lines changed since REV; scripts/test.sh
#                                      passes the last release (the last change to
#                                      openapi/baseline.json). At most MUTANTS_MAX (24)
#                                      mutants are tested: beyond that, one shard of them,
#                                      and the script says so.
#
# Needs the test databases as scripts/test.sh provides them (PostgreSQL reachable at
# JJJ_TEST_POSTGRES_URL). Results land in mutants.out/; the exit status is 2 when a
# mutant survives, 0 when every mutant was caught (a mutant that makes the tests hang
# counts as caught), cargo-mutants' own code for anything else.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
since=""
if [ "${1:-}" = "--since" ]; then
  since=$2
  diff_file=$(mktemp)
  git diff "$2" -- src/ > "$diff_file"
  shift 2
  if [ ! -s "$diff_file" ]; then
    echo "mutants: no source line changed since the last release; nothing to test"
    exit 0
  fi
  args+=(--in-diff "$diff_file")
fi

version=27.0.0
tools=$(realpath -m "${CARGO_TARGET_DIR:-target}/tools")
if [ "$("$tools/bin/cargo-mutants" mutants --version 2>/dev/null)" != "cargo-mutants $version" ]; then
  echo "installing cargo-mutants $version into $tools"
  cargo install --quiet --locked --force --version "$version" --root "$tools" cargo-mutants
fi
export PATH="$tools/bin:$PATH"

# Without --file: the domain (rules, decisions, deviations, search, the read model)
# and the code that builds the recognition answer.
if ! printf '%s\n' "$@" | grep -qx -- '--file'; then
  args+=(--file 'src/domain/**/*.rs' --file src/http/recognition_status.rs)
fi

count=$(cargo mutants --list "${args[@]}" 2>/dev/null | wc -l)
max=${MUTANTS_MAX:-24}
if [ -n "$since" ] && [ "$count" -gt "$max" ]; then
  shards=$(( (count + max - 1) / max ))
  shard=$(( 10#$(date +%j) % shards ))
  echo "mutants: $count in the changed lines; testing shard $shard of $shards (a different one each day)"
  args+=(--shard "$shard/$shards")
fi
# The verdict comes from mutants.out, not from the exit status alone: cargo-mutants
# exits 3 when a mutant made the tests hang until the timeout (the tests noticed it:
# caught) and that code takes precedence over 2 (a mutant no test noticed).
status=0
cargo mutants --no-shuffle "${args[@]}" "$@" || status=$?
case $status in
  0 | 2 | 3)
    if [ -s mutants.out/missed.txt ]; then
      echo "mutants: $(wc -l < mutants.out/missed.txt) mutants survived; kill each with a test, or list it in .cargo/mutants.toml with the reason it is equivalent:"
      cat mutants.out/missed.txt
      exit 2
    fi
    [ "$status" = 3 ] && echo "mutants: $(wc -l < mutants.out/timeout.txt) mutants made the tests hang until the timeout: caught"
    exit 0
    ;;
  *) exit "$status" ;;
esac
