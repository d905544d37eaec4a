"""One run per identical training configuration.

Two experiments of a paper can resolve, at some scale, to the same training: at small scales Table 1's
RpGAN + R1 + R2 row and Table 3's config E both become config E at the scale's minimum width, and EpiGRAF's
patch-32 ablation becomes the default patch size at 16 px. Such a run is trained once: the later experiment
(in params order) *shares* the earlier one's run directory (network, result, kept snapshots), and keeps its
own metrics record, sample grid and table rows. Whether two runs are the same is the training identity
(``identity.config_hash``: everything but evaluation, paths, tables, names), so a difference anywhere in
training keeps them apart, and the paper scale, where the rows differ, is untouched.

Torch-free (the DAG resolves every run when the Snakefile is parsed).
"""

from __future__ import annotations

from typing import Callable

from .identity import config_hash

_OWNERS: dict[int, tuple[object, dict]] = {}  # id(params) -> (params, {(paper, scale): {experiment: owner}})


def run_owners(paper: str, scale_name: str, params, experiments: list[str],
               resolve_own: Callable[[str], dict]) -> dict[str, str]:
    """``{experiment: the experiment whose run it trains}`` over ``experiments`` (in params order, first
    training seed): an experiment owns its run unless an earlier one has the same training identity."""
    held = _OWNERS.get(id(params))
    if held is None or held[0] is not params:
        held = _OWNERS[id(params)] = (params, {})
    key = (paper, scale_name)
    if key not in held[1]:
        first: dict[str, str] = {}
        owners = {}
        for exp in experiments:
            owners[exp] = first.setdefault(config_hash(resolve_own(exp)), exp)
        held[1][key] = owners
    return held[1][key]


def shared_paths(run_paths: dict, owner_paths: dict, owner: str) -> dict:
    """A sharing run's paths: the owner's run directory, network and result; its own metrics record."""
    return {**run_paths, "run_dir": owner_paths["run_dir"], "network": owner_paths["network"],
            "result": owner_paths["result"], "trained_by": owner}
