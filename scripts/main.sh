#!/usr/bin/env bash
# The main job: set up, then regenerate every table and figure at the smoke scale (2-core CPU; docs/BENCHMARKS.md has the measured time).
# Extra arguments go to snakemake, e.g. `bash scripts/main.sh --config scale=tiny`.
#
# Re-running after any interruption (Ctrl-C, kill -9, a reboot) resumes: this script holds a lock of
# its own while it runs (flock on .snakemake/ganrepro-main.lock, released by the kernel however the
# script ends), so when it gets the lock, a Snakemake directory lock still present was left by a dead
# controller and is removed. A second live invocation on the same checkout is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh

mkdir -p .snakemake
lock=.snakemake/ganrepro-main.lock
exec 9<>"$lock"  # opened without truncating: the holder's pid stays readable
if ! flock -n 9; then
  echo "scripts/main.sh: another run is in progress (pid $(cat "$lock" 2>/dev/null || echo unknown)) on $PWD;" \
       "wait for it or stop it, then run the same command again (it resumes)." >&2
  exit 1
fi
echo "$$ ${HOSTNAME:-$(uname -n)}" >"$lock"

live_snakemake() {  # pid of a snakemake controller running in this checkout outside this script, if any
  local proc cmd here
  here=$(pwd -P)  # /proc/<pid>/cwd is the physical path
  for proc in /proc/[0-9]*; do
    [ "${proc#/proc/}" != "$$" ] || continue
    [ "$(readlink "$proc/cwd" 2>/dev/null)" = "$here" ] || continue
    cmd=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null) || continue
    case "$cmd" in *snakemake*) ;; *) continue ;; esac
    case "$cmd" in *"snakemake --unlock"*|*"ganrepro "*) continue ;; esac
    echo "${proc#/proc/}"
    return 0
  done
  return 1
}

if compgen -G ".snakemake/locks/*" >/dev/null; then
  if pid=$(live_snakemake); then
    echo "scripts/main.sh: another run is in progress (pid $pid, snakemake started by hand in $PWD);" \
         "wait for it or stop it, then run the same command again (it resumes)." >&2
    exit 1
  fi
  echo "scripts/main.sh: removing the Snakemake lock left by an interrupted run (no snakemake is running here)"
  snakemake --unlock "$@" >/dev/null 9>&-
fi

# The jobs do not inherit the lock (9>&-): a job orphaned by a killed controller must not block the
# re-run; its run directory's own lock keeps a second trainer off it.
ganrepro validate 9>&-
snakemake --cores "${CORES:-$(nproc)}" --rerun-incomplete --keep-going "$@" 9>&-
echo "tables: results/tables/   figures: results/figures/   metrics: results/metrics/"
