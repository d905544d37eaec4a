#!/usr/bin/env bash
# The main job: set up, then regenerate every table and figure at the smoke scale (2-core CPU, ~15 min).
# Extra arguments go to snakemake, e.g. `bash scripts/main.sh --config scale=tiny`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
ganrepro validate
snakemake --cores "${CORES:-$(nproc)}" --rerun-incomplete --keep-going "$@"
echo "tables: results/tables/   figures: results/figures/   metrics: results/metrics/"
