# Sourced by the entry scripts: keep every cache inside the checkout, never in $HOME.
export PATH="$PWD/.venv/bin:$PATH"
export MPLCONFIGDIR="$PWD/.cache/matplotlib"
export TORCH_HOME="${TORCH_HOME:-$PWD/.cache/torch}"
export DVC_NO_ANALYTICS=1
export DVC_SITE_CACHE_DIR="$PWD/.dvc/tmp/site-cache"   # not /var/tmp/dvc
export PYTHONUNBUFFERED=1
