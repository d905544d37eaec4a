"""The config a run was trained with, read back from the run: what evaluation measures and tables report.

The train stage writes the resolved config into the run (``runs/.../config.json``). Later stages read it from
there and take from today's params only what changes no trained weight (``NOT_TRAINING``: the evaluation
protocol, paths, table membership, the recipe's prose) and the run's names (a run shared with the experiment that
trained it, config/shared.py, reads the owner's config under its own names), so a number is always labelled with
the config that produced it. A run trained with other params than they resolve to now is refused, naming the keys.
"""

from __future__ import annotations

import json

from .. import paths
from ..errors import ConfigError
from .identity import NAMES, NOT_TRAINING, training_hash
from .load import Params
from .resolve import resolve_run


def run_config(paper: str, experiment: str, scale: str, params: Params | None = None) -> dict:
    planned = resolve_run(paper, experiment, scale, params)
    path = paths.run_config(planned["paths"]["run_dir"])
    if not path.is_file():  # not trained (yet): the plan is all there is
        return planned
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc}); re-run the training command to rewrite it") from exc
    if training_hash(stored) != training_hash(planned):  # a shared run reads its owner's config (config/shared.py)
        missing = object()
        changed = sorted(k for k in set(stored) | set(planned)
                         if k not in NOT_TRAINING | NAMES and stored.get(k, missing) != planned.get(k, missing))
        raise ConfigError(f"{paper}/{experiment} at {scale} was trained with other params than params/ resolve to "
                          f"now (differs in: {', '.join(changed)}; {path}). Re-run its training (the snakemake "
                          f"command does), or restore the params it was trained with.")
    asked = _check_kept(stored, planned, path)
    # its own names, evaluation protocol and tables, and the snapshots it reads itself (config/shared.py)
    return {**stored, **{k: planned[k] for k in NOT_TRAINING | NAMES if k in planned},
            "train": {**stored["train"], "keep_networks": asked}}


def _check_kept(stored: dict, planned: dict, path) -> int:
    """The G_ema snapshots ``planned`` reads (``train.keep_networks``), refused if its run kept others: an owner
    keeps exactly what its group asks for, a sharer reads its owner's or none (config/shared.py)."""
    kept, asked = int(stored["train"].get("keep_networks", 0)), planned["train"]["keep_networks"]
    trained_by = planned["paths"].get("trained_by")
    if kept != asked and not (trained_by and asked == 0):
        raise ConfigError(f"{planned['paper']}/{planned['experiment']} at {planned['scale']}: its run ({path}) was "
                          f"trained keeping {kept} G_ema snapshots, params ask for {asked} (train.keep_networks; "
                          f"config/shared.py). Re-run the training of {trained_by or planned['experiment']} (the "
                          f"snakemake command does).")
    return asked
