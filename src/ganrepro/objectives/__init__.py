"""Per-paper training objectives behind the one loop, registered by name (``objective:`` in params).

A paper registers its objective from its own module::

    from ganrepro.objectives import register
    @register("epigraf")
    class EpiGRAFObjective(Objective): ...

``get_objective(name)`` imports ``ganrepro.papers.<name>`` (or any module a params file lists under
``modules:``) before looking the name up, so nothing outside the paper's own files names it.
"""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from .base import Nets, Objective, Phase, lazy_ratio, take

_REGISTRY: dict[str, type[Objective]] = {}


def register(name: str):
    def deco(cls: type[Objective]) -> type[Objective]:
        _REGISTRY[name] = cls
        cls.name = name
        return cls
    return deco


def import_modules(modules: list[str] | tuple[str, ...]) -> None:
    """Import plug-in modules a paper's params list (their import registers objectives/families)."""
    for mod in modules:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            raise ConfigError(f"cannot import module {mod!r} listed under `modules:` ({exc}). "
                              f"Is it on PYTHONPATH?") from exc


def get_objective(name: str) -> type[Objective]:
    if name not in _REGISTRY:
        try:
            importlib.import_module(f"ganrepro.papers.{name}")
        except ModuleNotFoundError:
            pass
    if name not in _REGISTRY:  # a plug-in module a paper's params list under `modules:`
        from ..config.load import load_params

        for reg in load_params().experiments.values():
            import_modules(reg.get("modules", []))
    if name not in _REGISTRY:
        raise ConfigError(f"unknown objective {name!r}; registered: {', '.join(sorted(_REGISTRY))}. "
                          f"Register it with @ganrepro.objectives.register({name!r}) in the paper's module.")
    return _REGISTRY[name]


def objective_for(cfg: dict) -> type[Objective]:
    """The class that trains a resolved config: its ``objective:``, and the step structure it selects."""
    return get_objective(cfg["objective"]).for_config(cfg)


from . import r3gan as _r3gan  # noqa: E402  (registers the worked example)

register("r3gan")(_r3gan.R3GANObjective)

__all__ = ["Nets", "Objective", "Phase", "get_objective", "import_modules", "lazy_ratio", "objective_for",
           "register", "take"]
