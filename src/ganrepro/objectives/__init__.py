"""Per-paper training objectives behind the one loop, registered by name (``objective:`` in params).

A paper registers its objective from its own module::

    from ganrepro.objectives import register
    @register("epigraf")
    class EpiGRAFObjective(Objective): ...

and declares it, torch-free, from its package (``declare("epigraf", "ganrepro.papers.epigraf.objective")``),
which the paper's params list under ``modules:`` (``ganrepro.config.plugins`` imports it before a lookup),
so that resolving a run (the DAG, dvc.yaml) checks the name without importing torch; ``get_objective``
also imports the declared module (torch), when training or evaluation starts. The registry imports no paper.
The base classes (``Objective``, ``Phase``, ``Nets``, ``take``, ``lazy_ratio``) live in ``base.py``;
importing them from here loads it on first access.
"""

from __future__ import annotations

import importlib

from ..errors import ConfigError

_REGISTRY: dict[str, type] = {}
_DECLARED: dict[str, str] = {"r3gan": "ganrepro.objectives.r3gan"}  # name -> the module that registers it


def register(name: str):
    def deco(cls: type) -> type:
        _REGISTRY[name] = cls
        cls.name = name
        return cls
    return deco


def declare(name: str, module: str) -> None:
    """Objective ``name`` is registered by importing ``module`` (imported by ``get_objective`` only)."""
    _DECLARED[name] = module


def _known(name: str) -> bool:
    return name in _REGISTRY or name in _DECLARED


def check_objective(name: str) -> None:
    """Raise ConfigError, naming the objective, unless it is registered or declared (torch-free)."""
    if not _known(name):
        known = sorted(set(_REGISTRY) | set(_DECLARED))
        raise ConfigError(f"unknown objective {name!r}; registered: {', '.join(known)}. "
                          f"Register it with @ganrepro.objectives.register({name!r}) (or declare it) in a module the paper's "
                          f"params list under `modules:`.")


def get_objective(name: str) -> type:
    check_objective(name)
    if name not in _REGISTRY:
        importlib.import_module(_DECLARED[name])
    if name not in _REGISTRY:
        raise ConfigError(f"objective {name!r} is declared in {_DECLARED[name]}, but importing it registered no "
                          f"class: decorate the class with @ganrepro.objectives.register({name!r}).")
    return _REGISTRY[name]


def objective_for(cfg: dict) -> type:
    """The class that trains a resolved config: its ``objective:``, and the step structure it selects."""
    return get_objective(cfg["objective"]).for_config(cfg)


_BASE = ("Nets", "Objective", "Phase", "lazy_ratio", "take")


def __getattr__(name: str):
    if name in _BASE:  # torch: loaded when a paper's objective or the loop asks for it
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_BASE, "check_objective", "declare", "get_objective",
           "objective_for", "register"]
