"""Stage: train one experiment at one scale (resumable; a diverged run is a recorded Fail, not an error)."""

from __future__ import annotations

import contextlib

from ..config import resolve_run
from ..config.shared import refuse_training_a_shared_run
from ..paths import run_config
from ..data import open_archive
from ..training import distributed
from ..training.hooks import Hooks, SignalAndWallTimeHooks
from ..training.lock import hold_run_lock
from ..training.loop import train
from ..utils_io import write_json

EXIT_SUSPENDED = 75  # EX_TEMPFAIL: state saved, re-run the same command to continue


def run_training(paper: str, experiment: str, scale: str, *, max_minutes: float | None = None,
                 progress: bool = True) -> int:
    cfg = resolve_run(paper, experiment, scale)
    refuse_training_a_shared_run(cfg, f"Train it with `ganrepro train --paper {paper} --experiment "
                                      f"{cfg['paths'].get('trained_by')} --scale {scale}`; evaluating {experiment} reads it.")
    result = train_resolved(cfg, hooks=SignalAndWallTimeHooks(max_minutes), progress=progress)
    if result["status"] == "suspended":
        print(f"suspended at step {result['step']} ({result['kimg']:.2f} kimg); re-run the same command to resume")
        return EXIT_SUSPENDED
    if result["status"] == "failed":
        print(f"{paper}/{experiment}: training diverged ({result['reason']}); recorded as Fail")
    else:  # the job log's last line (its time is the job's end: `ganrepro dag-timing`)
        print(f"{paper}/{experiment}: {result['status']} at step {result['step']} ({result['kimg']:.2f} kimg)")
    return 0


def train_resolved(cfg: dict, *, hooks: Hooks | None = None, progress: bool = True) -> dict:
    """Train a resolved config (the `train` stage and the SLURM launcher's jobs both come through here).

    Rank 0 holds the run directory's lock for the whole run: a second trainer on the same run is
    refused (`RunLockedError`) before it writes anything.
    """
    rank0 = distributed.world()[0] == 0
    with hold_run_lock(cfg["paths"]["run_dir"]) if rank0 else contextlib.nullcontext():
        open_archive(cfg["dataset"]["path"], verify=True)  # fail early with a message naming the file
        if rank0:
            write_json(run_config(cfg["paths"]["run_dir"]), cfg)
        return train(cfg, hooks=hooks, progress=progress)
