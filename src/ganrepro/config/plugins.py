"""Where a paper's code is: the modules its params file lists under ``modules:``, imported by name.

The registries (objectives, model families, stand-in generators, report hooks) know no paper: a paper's
module registers its names when it is imported, and the entry points (resolving a run, preparing data,
building dvc.yaml, the reports) import the modules params name before they look a name up. Torch-free:
a paper's package registers torch-free parts and defers its networks to first use.
"""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from .load import Params, load_params


def import_modules(modules: list[str] | tuple[str, ...], where: str = "`modules:`") -> None:
    """Import the modules a paper's params list (each registers its objective, families, stand-ins, hooks)."""
    for mod in modules:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            raise ConfigError(f"cannot import module {mod!r} listed under {where} ({exc}). "
                              f"Is it on PYTHONPATH?") from exc


def paper_modules(paper: str, params: Params | None = None) -> list[str]:
    params = params or load_params()
    return list(params.experiments.get(paper, {}).get("modules", []))


def import_paper(paper: str, params: Params | None = None) -> None:
    """Import one paper's code (params/experiments/<paper>.yaml, ``modules:``)."""
    import_modules(paper_modules(paper, params), f"`modules:` of params/experiments/{paper}.yaml")


def import_all_papers(params: Params | None = None) -> None:
    """Import every paper's code: for lookups that do not start from one paper (a dataset's stand-in)."""
    params = params or load_params()
    for paper in params.experiments:
        import_paper(paper, params)
