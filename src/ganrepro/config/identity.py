"""What identifies a resolved run config: one hash, used by the DAG's rerun trigger and the resumable state.

Keys that do not change what a training step computes are left out (``NOT_TRAINING``). The DAG's
``fingerprint`` hashes the rest, so a longer run re-runs its job; a saved state's ``run_identity``
also leaves out the run's length and tick settings (``RESUMABLE``), so an extended run resumes.
``training_hash`` also leaves out the run's names (``NAMES``) and what it keeps for its readers (``KEPT``):
two experiments with equal training hashes train the same network, and share one run (config/shared.py).
``run_identity`` keeps ``KEPT``: a run resumed with another snapshot count could not write the milestones it
has passed, so a changed count (a sharer joining or leaving a group) trains the run again.
"""

from __future__ import annotations

import hashlib
import json

NOT_TRAINING = frozenset({"paths", "tables", "resources", "eval",
                          "recipe"})  # the recipe's effects are in schedule/model/train; its prose is not training
NAMES = frozenset({"experiment", "base_experiment", "seed_index", "model_paper"})  # what a run is called / reports
RESUMABLE = frozenset({"kimg", "paper_kimg", "tick_kimg", "snapshot_ticks"})  # under `train`
KEPT = frozenset({"keep_networks"})  # under `train`: the G_ema copies a run keeps for readers; no step changes


def config_hash(cfg: dict, *, resumable: bool = False, names: bool = True, kept: bool = True) -> str:
    """16 hex digits of the config without ``NOT_TRAINING`` (and, ``resumable``, without train's ``RESUMABLE``;
    without ``names``, without ``NAMES``; without ``kept``, without train's ``KEPT``)."""
    ident = {k: v for k, v in cfg.items() if k not in NOT_TRAINING and (names or k not in NAMES)}
    dropped = (RESUMABLE if resumable else frozenset()) | (frozenset() if kept else KEPT)
    if dropped and "train" in cfg:
        ident["train"] = {k: v for k, v in cfg["train"].items() if k not in dropped}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_identity(cfg: dict) -> str:
    """Hash of everything that defines the training trajectory of a run config: a run may be extended
    (longer `kimg`) or re-ticked and still resume; any other change starts a fresh run."""
    return config_hash(cfg, resumable=True)


def training_hash(cfg: dict) -> str:
    """Hash of what a run trains, whatever it is called and keeps: equal for two experiments that train the
    same network (the run that trains them keeps the snapshots either asks for: config/shared.py)."""
    return config_hash(cfg, names=False, kept=False)
