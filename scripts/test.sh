#!/usr/bin/env bash
# The test job: set up, then run every test (unit, end-to-end DAG at tiny scale, SLURM when possible).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_browser.sh   # Debian chromium for the report test (skipped with a reason when not root)
source scripts/env.sh
python -m pytest "$@"
