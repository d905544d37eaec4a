# Sourced by the entry scripts (and by users: `source scripts/env.sh`): the checkout's venv first on
# PATH, every cache inside the checkout, never in $HOME. Works from any directory of the checkout.
_ganrepro_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if [ ! -x "$_ganrepro_root/.venv/bin/ganrepro" ]; then
  echo "scripts/env.sh: $_ganrepro_root/.venv is not set up (no .venv/bin/ganrepro); run \`bash scripts/setup.sh\` in $_ganrepro_root first (creates .venv and installs ganrepro), then source this file again." >&2
fi
export PATH="$_ganrepro_root/.venv/bin:$PATH"
export MPLCONFIGDIR="$_ganrepro_root/.cache/matplotlib"
export TORCH_HOME="${TORCH_HOME:-$_ganrepro_root/.cache/torch}"
export DVC_NO_ANALYTICS=1
export DVC_SITE_CACHE_DIR="$_ganrepro_root/.dvc/tmp/site-cache"   # not /var/tmp/dvc
export PYTHONUNBUFFERED=1
unset _ganrepro_root
