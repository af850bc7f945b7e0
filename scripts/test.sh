#!/usr/bin/env bash
# Set up (if needed) and run the default test suite; extra arguments go to pytest (e.g. --run-slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
