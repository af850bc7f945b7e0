#!/usr/bin/env bash
# Set up (if needed) and run the default test suite; extra arguments go to pytest (e.g. --run-slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The HTML report is checked in headless Chromium (Debian's package); CI installs it when missing.
if [ "${CI:-}" = "true" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "warning: could not install chromium; the report rendering test will be skipped" >&2
fi
# Two workers, one test file each at a time (a file's tests share their fits and compiled programs);
# pass -n 0 to run in one process. A worker that dies ends the run and is named (--max-worker-restart=0): with
# --dist loadfile a replaced worker can leave pytest-xdist waiting forever (pytest-xdist issue 784).
exec .venv/bin/python -m pytest -n 2 --dist loadfile --max-worker-restart=0 "$@"
