"""Stand-in dataset generators by name (``standin: {generator: <name>}`` in params): a torch-free registry.

The shared generators (``shapes``, ``stacked_digits``) register from ``ganrepro.data.embedded``; a paper's
own register from a module its params list under ``modules:``, with ``register_generator(name, fn)``
(``ganrepro.papers.lazy`` keeps the import for the first call). The registry imports nothing by name: the
entry points import the papers' modules (``ganrepro.config.plugins``) before they look a name up.
"""

from __future__ import annotations

from typing import Callable

from .errors import DatasetError

# name -> generator(*, count, resolution, seed, num_classes) -> ganrepro.data.embedded.Generated
GENERATORS: dict[str, Callable] = {}
SHARED: set[str] = set()  # registered by ganrepro.data.embedded (no paper's own code)


def _where(generator: Callable) -> tuple[str, str]:
    """(module, name) of a generator, or of the function a ``ganrepro.papers.lazy`` wrapper stands for."""
    return getattr(generator, "module", generator.__module__), generator.__name__


def register_generator(name: str, generator: Callable, *, shared: bool = False) -> None:
    """Register a stand-in generator; the same name for another function is an error (the same function,
    or a new lazy wrapper of it after a re-import, is not)."""
    if name in GENERATORS and _where(GENERATORS[name]) != _where(generator):
        raise DatasetError(f"stand-in generator {name!r} is registered twice ({'.'.join(_where(GENERATORS[name]))} "
                           f"and {'.'.join(_where(generator))}); give one of them another name")
    GENERATORS[name] = generator
    if shared:
        SHARED.add(name)


def provider_module(name: str) -> str | None:
    """The module that holds a paper's generator ``name`` (torch-free: nothing is called), or None for a
    shared one (registered by ganrepro.data.embedded) or an unknown name."""
    if name in SHARED or name not in GENERATORS:
        return None
    return _where(GENERATORS[name])[0]


def lookup(name: str) -> Callable:
    """The generator ``name`` (a paper's registers when the modules its params list are imported:
    ``ganrepro.config.plugins.import_all_papers``)."""
    if name not in GENERATORS:
        raise DatasetError(f"unknown stand-in generator {name!r}; use one of {sorted(GENERATORS)}, or register "
                           "it with ganrepro.standins.register_generator() in a module your params list under `modules:`")
    return GENERATORS[name]
