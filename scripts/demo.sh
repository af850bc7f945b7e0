#!/usr/bin/env bash
# Set up (if needed) and run `bayeslaw demo` on the bundled Chinchilla runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --overwrite: rerunning the script replaces its own earlier demo folder (bayeslaw refuses any folder that is
# not a demo's, a fit's or empty)
exec .venv/bin/bayeslaw demo --overwrite "$@"
