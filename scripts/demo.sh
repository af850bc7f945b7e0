#!/usr/bin/env bash
# Set up (if needed) and run `bayeslaw demo` on the bundled Chinchilla runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/bayeslaw demo "$@"
