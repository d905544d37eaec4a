"""One run per identical training configuration.

Two experiments of a paper can resolve, at some scale, to the same training: at small scales Table 1's
RpGAN + R1 + R2 row and Table 3's config E both become config E at the scale's minimum width, and EpiGRAF's
patch-32 ablation becomes the default patch size at 16 px. Such a run is trained once: the later experiment
(in params order) *shares* the earlier one's run directory (network, result, kept snapshots), and keeps its
own metrics record, sample grid and table rows. Whether two runs are the same is the training hash
(``identity.training_hash``: everything but evaluation, paths, tables, names), so a difference anywhere in
training keeps them apart, and the paper scale, where the rows differ, is untouched.

Torch-free (the DAG resolves every run when the Snakefile is parsed).
"""

from __future__ import annotations

import weakref
from typing import Callable

from .. import paths
from ..errors import ConfigError
from .identity import training_hash

_OWNERS: dict[int, dict] = {}  # id(params) -> {(paper, scale): {experiment: owner}}, dropped with the params


def run_owners(paper: str, scale_name: str, params, experiments: list[str],
               resolve_own: Callable[[str], dict]) -> dict[str, str]:
    """``{experiment: the experiment whose run it trains}`` over ``experiments`` (in params order, first
    training seed): an experiment owns its run unless an earlier one has the same training identity."""
    held = _OWNERS.get(id(params))
    if held is None:
        held = _OWNERS[id(params)] = {}
        weakref.finalize(params, _OWNERS.pop, id(params), None)
    key = (paper, scale_name)
    if key not in held:
        first: dict[str, str] = {}
        held[key] = {exp: first.setdefault(training_hash(resolve_own(exp)), exp) for exp in experiments}
    return held[key]


def shared_paths(run_paths: dict, scale: str, paper: str, owner: str) -> dict:
    """A sharing run's paths: the owner's run directory, network and result; its own metrics record."""
    return {**run_paths, "run_dir": paths.run_dir(scale, paper, owner), "network": paths.network(scale, paper, owner),
            "result": paths.result(scale, paper, owner), "trained_by": owner}


def refuse_training_a_shared_run(cfg: dict, fix: str) -> None:
    """A shared run has one trainer, its owner: training it under another name is refused, saying ``fix``."""
    if owner := cfg["paths"].get("trained_by"):
        raise ConfigError(f"{cfg['paper']}/{cfg['experiment']} trains exactly what {owner} trains at scale "
                          f"{cfg['scale']} (config/shared.py): its network is {cfg['paths']['network']}. {fix}")
