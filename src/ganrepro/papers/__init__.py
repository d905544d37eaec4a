"""Paper-specific code: objectives, table and figure builders (one sub-package per paper).

A paper's package (``ganrepro.papers.<paper>``, which its params list under ``modules:``, or any module
they list) registers what the generic report code cannot know::

    register_paper("r3gan", figures={"fig1_g_loss": fig1}, settings=used_settings)

* ``figures``: figure name -> ``fn(paper, scale, out_dir) -> Path`` (PNG under results/figures/<paper>/);
  ``lazy("module", "fn")`` defers the import to the first call, so that training and evaluation jobs,
  which import the paper's package for its objective, do not pay for matplotlib / seaborn / scipy;
* ``settings``: ``fn(paper, experiment, scale) -> dict`` for tables whose cells are the settings used
  (``source: settings`` in params/reported, e.g. R3GAN's Table 9);
* ``metrics``: ``fn(cfg, G, payload, device) -> {metric name: entry}``, the paper's own metrics of an
  evaluated network, added to its metrics record beside the protocol's (e.g. EpiGRAF's view consistency).
The generic figures (training curves, sample grids) need no registration.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable


def lazy(module: str, name: str) -> Callable:
    """A callable that imports ``module`` and calls its ``name`` on first use."""

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name} (imported on first call)"
    call.module = module  # where it lives (dvc.yaml's code dependencies read it)
    return call


@dataclass(frozen=True)
class PaperHooks:
    name: str
    figures: dict[str, Callable] = field(default_factory=dict)
    settings: Callable | None = None
    metrics: Callable | None = None


_HOOKS: dict[str, PaperHooks] = {}


def register_paper(name: str, *, figures: dict | None = None, settings: Callable | None = None,
                   metrics: Callable | None = None) -> None:
    _HOOKS[name] = PaperHooks(name, dict(figures or {}), settings, metrics)


def hooks(paper: str, modules: list[str] | tuple[str, ...] = ()) -> PaperHooks:
    """The paper's registered hooks (importing the modules its params list first); empty if none."""
    from ..config.plugins import import_modules

    import_modules(modules, f"`modules:` of params/experiments/{paper}.yaml")
    return _HOOKS.get(paper, PaperHooks(paper))
