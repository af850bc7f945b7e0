#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install bayeslaw (editable) with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=""
for cand in "${PYTHON:-}" "$(command -v pyenv >/dev/null 2>&1 && pyenv which python 2>/dev/null || true)" python3.13 python3.12 python3; do
  [ -n "$cand" ] || continue
  command -v "$cand" >/dev/null 2>&1 || [ -x "$cand" ] || continue
  if "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then PY="$cand"; break; fi
done
if [ -z "$PY" ]; then
  echo "error: bayeslaw needs Python >= 3.12 (ArviZ 1.x); install it (e.g. 'pyenv install 3.12') and rerun." >&2
  exit 2
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
  rm -rf .venv
  "$PY" -m venv .venv
fi
# Install only when pyproject.toml changed since the last install (the stamp holds its hash), so the test
# command does not rerun pip each time; setuptools' editable-install warning box is not echoed.
STAMP=.venv/.bayeslaw-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ] || ! .venv/bin/python -c "import bayeslaw" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  LOG="$(mktemp)"
  if ! .venv/bin/python -m pip install --quiet -e ".[test]" >"$LOG" 2>&1; then
    cat "$LOG" >&2; rm -f "$LOG"; echo "error: installing bayeslaw failed (pip's output above)" >&2; exit 1
  fi
  rm -f "$LOG"
  echo "$WANT" > "$STAMP"
fi
.venv/bin/python -c "import bayeslaw" || { echo "error: installing bayeslaw failed" >&2; exit 1; }
