#!/usr/bin/env bash
# The prepared GPU check (issue 17): one table of CUDA unit tests, a paper's tiny DAG on the GPU,
# throughput per family at paper widths (fp32 and bf16) and the INR / EpiGRAF cost ratios at paper
# settings. Sized for 8 minutes on one H100 (the bench and cost rows past --budget-s are skipped).
# The logic is `ganrepro gpu-check` (src/ganrepro/orchestration/gpu_check.py); output in results/gpu_check/.
#   bash scripts/gpu_check.sh                      # on the GPU machine
#   bash scripts/gpu_check.sh --device cpu --tiny  # the dry run: same code, CPU, tiny scale, < 1 min
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x .venv/bin/ganrepro ] || bash scripts/setup.sh
source scripts/env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec timeout 470 ganrepro gpu-check "$@"
