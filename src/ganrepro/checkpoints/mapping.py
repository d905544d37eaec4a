"""Rename an official network's tensors onto a project network, transform layouts, check every shape.

A family's mapping is a list of rules ``(regex, target)``: the regex matches a whole official tensor
name; ``target(match, tensor)`` returns the project name, ``(name, tensor)`` with a changed layout
(a flipped kernel, a squeezed shape), or ``IGNORE`` for an official tensor the project computes
instead (a resampling filter the rule has checked). Official tensors no rule matches, project
tensors nothing fills and shape mismatches end in ``CheckpointError`` naming the tensor.
"""

from __future__ import annotations

import re
from typing import Callable

import torch

from ganrepro.errors import GanreproError

IGNORE = object()
Rule = tuple[str, Callable]


class CheckpointError(GanreproError):
    """An official checkpoint does not fit the network the experiment builds."""


_IMPORTERS: dict[str, Callable] = {}
# the shared families' official names; a paper's own family names its module (``checkpoint_rules``)
BUILTIN_RULES = {"stylegan2": "ganrepro.checkpoints.official_r3gan", "r3gan": "ganrepro.checkpoints.official_r3gan",
                 "cips": "ganrepro.checkpoints.official_cips"}


def register_importer(family: str, rules: Callable) -> None:
    """``rules(net, target_module) -> list[Rule]`` or ``(rules, keep)`` for net in G | D (G_ema uses G's)."""
    _IMPORTERS[family] = rules


def importer_rules(family: str) -> Callable:
    if family not in _IMPORTERS:  # the module of the family's official names (imported only here)
        import importlib

        from ganrepro.models.registry import get_family

        module = BUILTIN_RULES.get(family) or get_family(family).checkpoint_rules
        if module:
            importlib.import_module(module)
    if family not in _IMPORTERS:
        raise CheckpointError(f"no checkpoint import is defined for model family {family!r}; families with one: "
                              f"{sorted(_IMPORTERS)}. Pick an experiment of a paper whose official code released "
                              "checkpoints (params/checkpoints.yaml lists them)")
    return _IMPORTERS[family]


def map_tensors(official: dict[str, torch.Tensor], rules: list[Rule], target: torch.nn.Module,
                where: str, keep: set[str] = frozenset()) -> dict[str, torch.Tensor]:
    """The project state dict of ``target`` filled from ``official`` by ``rules`` (strict); the project
    tensors in ``keep`` (ones the official network does not have) keep their built values."""
    compiled = [(re.compile(pattern), fn) for pattern, fn in rules]
    expected = target.state_dict()
    out: dict[str, torch.Tensor] = {}
    for name, tensor in official.items():
        for pattern, fn in compiled:
            match = pattern.fullmatch(name)
            if match is None:
                continue
            result = fn(match, tensor)
            if result is IGNORE:
                break
            proj, value = result if isinstance(result, tuple) else (result, tensor)
            if proj not in expected:
                raise CheckpointError(f"{where}: official tensor {name!r} maps to {proj!r}, which the project "
                                      "network does not have: the checkpoint was written for another architecture "
                                      "(check --paper/--experiment/--scale and the entry in params/checkpoints.yaml)")
            if tuple(value.shape) != tuple(expected[proj].shape):
                raise CheckpointError(f"{where}: official tensor {name!r} has shape {list(tensor.shape)}, the "
                                      f"project's {proj!r} expects {list(expected[proj].shape)}: wrong resolution or "
                                      "widths (check --experiment/--scale, or the model overrides in "
                                      "params/checkpoints.yaml)")
            out[proj] = value.to(expected[proj].dtype)
            break
        else:
            raise CheckpointError(f"{where}: official tensor {name!r} {list(tensor.shape)} has no place in the project "
                                  "network (an extra tensor): the checkpoint belongs to another paper or architecture")
    out.update({k: expected[k] for k in keep if k in expected and k not in out})
    missing = [k for k in expected if k not in out]
    if missing:
        raise CheckpointError(f"{where}: the checkpoint holds no tensor for the project's {missing[0]!r} "
                              f"{list(expected[missing[0]].shape)} ({len(missing)} missing in all): a tensor is "
                              "missing or the checkpoint is of another architecture")
    return out


def check_filter(name: str, tensor: torch.Tensor, taps: list[float]) -> object:
    """IGNORE an official resampling filter after checking it is the project's (2D outer or 1D taps)."""
    f = torch.tensor([float(t) for t in taps])
    f = f / f.sum()
    ok = (tensor.shape == f.shape and torch.allclose(tensor, f, atol=1e-6)) or (
        tensor.dim() == 2 and torch.allclose(tensor / tensor.sum(), torch.outer(f, f), atol=1e-6))
    if not ok:
        raise CheckpointError(f"official resampling filter {name!r} is {tensor.tolist()}, the project's is the "
                              f"normalised {taps}: the network would compute another function")
    return IGNORE
