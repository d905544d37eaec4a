"""Model families, registered once: how to build (G, D) and how a scale preset shrinks them.

A family is registered by the module that defines it (``register_family``); params name it under
``model.family``. Nothing else lists families: the schema, the resolver and ``build_networks`` ask
this registry. ``scale_knobs(model, resolution=, paper_resolution=, scale=)`` returns the architecture
trained at a small scale (same family and mechanisms, fewer/narrower channels).

A family's registering module holds only its torch-free parts (knobs, ``scale_knobs``, validation):
resolving a run (the DAG, dvc.yaml, ``ganrepro plan``) never imports torch. ``build`` imports the
network classes when it is called, i.e. when networks are built.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[..., tuple]          # build(arch, *, resolution, img_channels, num_classes) -> (G, D)
    scale_knobs: Callable[..., dict]     # scale_knobs(model, *, resolution, paper_resolution, scale) -> model
    module: str = ""
    checkpoint_rules: str = ""           # a plug-in family's module registering its official checkpoint names
                                         # (the shared families' are in ganrepro.checkpoints; imported on use)


FAMILIES: dict[str, Family] = {}

# Modules that register the shared families when imported (a paper's own families register from a module
# its params list under `modules:`, which ganrepro.config.plugins imports before a lookup).
_BUILTIN = ("ganrepro.models.builtin",)


def register_family(name: str, *, build, scale_knobs, checkpoint_rules: str = "") -> None:
    FAMILIES[name] = Family(name, build, scale_knobs, build.__module__, checkpoint_rules)


def get_family(name: str) -> Family:
    for mod in _BUILTIN:
        importlib.import_module(mod)
    if name not in FAMILIES:  # a paper's family registers from a module its params list under `modules:`
        raise ConfigError(f"model 'family' is {name!r}; registered families: {', '.join(sorted(FAMILIES))}. "
                          f"A paper's family registers with ganrepro.models.registry.register_family() in a "
                          f"module the paper's params list under `modules:`.")
    return FAMILIES[name]


# --- helpers for scale_knobs -------------------------------------------------------------------------
def scaled_width(width: int, scale: dict) -> int:
    return max(scale["min_width"], int(round(width / scale["width_divisor"])))


def capped(value: int, cap: int | None) -> int:
    return value if cap is None else min(value, cap)


def stages_for(resolution: int) -> int:
    """Stages from 4x4 up to `resolution` (one per power of two)."""
    return int(math.log2(resolution)) - 1
