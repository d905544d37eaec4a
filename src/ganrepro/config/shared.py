"""One run per identical training configuration.

Two experiments of a paper can resolve, at some scale, to the same training: at small scales Table 1's
RpGAN + R1 + R2 row and Table 3's config E both become config E at the scale's minimum width, and EpiGRAF's
patch-32 ablation becomes the default patch size at 16 px. Such a run is trained once: the later experiment
(in params order) *shares* the earlier one's run directory (network, result, kept snapshots), and keeps its
own metrics record, sample grid and table rows. Whether two runs are the same is the training hash
(``identity.training_hash``: everything but evaluation, paths, tables, names and the snapshots a run keeps), so
a difference anywhere in training keeps them apart. At the paper scale only the learning runs share (they are
the presets themselves); the table rows differ there.
The owner keeps the G_ema snapshots every sharer reads (``train.keep_networks``: the group's count; two
different non-zero counts are refused, since their milestone steps need not coincide). A member asking for
none reads none (``config.run_config``): under ``eval.select: best_fid`` it evaluates the final network. At
EpiGRAF, the only paper that selects, every run keeps the same count.

Torch-free (the DAG resolves every run when the Snakefile is parsed).
"""

from __future__ import annotations

import weakref
from typing import Callable

from .. import paths
from ..errors import ConfigError
from .identity import training_hash

_OWNERS: dict[int, dict] = {}  # id(params) -> {(paper, scale): (owners, kept)}, dropped with the params


def run_owners(paper: str, scale_name: str, params, experiments: list[str],
               resolve_own: Callable[[str], dict]) -> dict[str, str]:
    """``{experiment: the experiment whose run it trains}`` over ``experiments`` (in params order, first
    training seed): an experiment owns its run unless an earlier one has the same training identity."""
    return _groups(paper, scale_name, params, experiments, resolve_own)[0]


def owner_keeps(paper: str, scale_name: str, params, experiments: list[str],
                resolve_own: Callable[[str], dict]) -> dict[str, int]:
    """``{owner: the number of G_ema snapshots its run keeps}``: what its sharers and itself ask for."""
    return _groups(paper, scale_name, params, experiments, resolve_own)[1]


def _groups(paper: str, scale_name: str, params, experiments: list[str], resolve_own) -> tuple[dict, dict]:
    held = _OWNERS.get(id(params))
    if held is None:
        held = _OWNERS[id(params)] = {}
        weakref.finalize(params, _OWNERS.pop, id(params), None)
    key = (paper, scale_name)
    if key not in held:
        first: dict[str, str] = {}
        owners, asks = {}, {}
        for exp in experiments:
            cfg = resolve_own(exp)
            owners[exp] = first.setdefault(training_hash(cfg), exp)
            asks.setdefault(owners[exp], {})[exp] = int(cfg.get("train", {}).get("keep_networks", 0))
        held[key] = (owners, {owner: _kept(paper, scale_name, ask) for owner, ask in asks.items()})
    return held[key]


def _kept(paper: str, scale_name: str, asks: dict[str, int]) -> int:
    counts = {n for n in asks.values() if n}
    if len(counts) > 1:
        raise ConfigError(f"{paper}: {', '.join(asks)} train the same network at scale {scale_name} (config/shared.py) "
                          f"but keep different numbers of G_ema snapshots ({asks}); their milestone steps differ. Give "
                          f"them the same `keep_networks` in params/experiments/{paper}.yaml.")
    return max(counts, default=0)


def shared_paths(run_paths: dict, scale: str, paper: str, owner: str) -> dict:
    """A sharing run's paths: the owner's run directory, network and result; its own metrics record."""
    return {**run_paths, "run_dir": paths.run_dir(scale, paper, owner), "network": paths.network(scale, paper, owner),
            "result": paths.result(scale, paper, owner), "trained_by": owner}


def refuse_training_a_shared_run(cfg: dict, fix: str) -> None:
    """A shared run has one trainer, its owner: training it under another name is refused, saying ``fix``."""
    if owner := cfg["paths"].get("trained_by"):
        raise ConfigError(f"{cfg['paper']}/{cfg['experiment']} trains exactly what {owner} trains at scale "
                          f"{cfg['scale']} (config/shared.py): its network is {cfg['paths']['network']}. {fix}")
