#!/usr/bin/env bash
# Creates or updates contract/.venv from contract/requirements.txt (pinned); does
# nothing when the requirements and the interpreter have not changed since the last
# install.
#
# The interpreter must be CPython >= 3.12.2 or >= 3.11.8: earlier ones fail inside
# Hypothesis with "SystemError: AST constructor recursion depth mismatch" (a CPython
# bug, gh-106905), which Schemathesis reports as an error. JJJ_CONTRACT_PYTHON picks one;
# otherwise the newest suitable python3.x on PATH or under pyenv is used.
set -euo pipefail
cd "$(dirname "$0")"

suitable() {
  "$1" -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 12, 2) or (3, 11, 8) <= v < (3, 12) else 1)' 2>/dev/null
}
python=""
for candidate in ${JJJ_CONTRACT_PYTHON:-} python3.14 python3.13 python3.12 \
  $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if suitable "$path"; then python=$path; break; fi
done
if [ -z "$python" ]; then
  echo "contract checks need CPython >= 3.12.2 (or >= 3.11.8); set JJJ_CONTRACT_PYTHON to one" >&2
  exit 1
fi

stamp=.venv/.installed
wanted="$(sha256sum requirements.txt | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi
echo "installing the contract tools (contract/requirements.txt) into contract/.venv with $python"
rm -rf .venv
"$python" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
echo "$wanted" > "$stamp"
