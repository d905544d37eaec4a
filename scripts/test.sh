#!/usr/bin/env bash
# The test job: set up, then run every test (unit, end-to-end DAG at tiny scale, SLURM when possible).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
python -m pytest "$@"
