"""Tensors of an inert module record (``unpickle.Record``) by dotted name, as a state dict names them."""

from __future__ import annotations

import torch

from .unpickle import Record


def _state(obj) -> dict:
    state = obj.state if isinstance(obj, Record) else obj
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):  # (dict, slots)
        state = {**(state[0] or {}), **state[1]}
    return state if isinstance(state, dict) else {}


def module_tensors(obj, prefix: str = "", *, non_persistent: bool = True) -> dict[str, torch.Tensor]:
    """{name: tensor} of a recorded torch module: its ``_parameters``, ``_buffers`` (non-persistent
    ones too unless told otherwise) and those of its ``_modules``, recursively. A plain state dict
    (CIPS's ``.pt``) passes through."""
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {prefix + k: v for k, v in obj.items()}
    state = _state(obj)
    out: dict[str, torch.Tensor] = {}
    skip = set(state.get("_non_persistent_buffers_set") or ()) if not non_persistent else set()
    for kind in ("_parameters", "_buffers"):
        for name, value in (state.get(kind) or {}).items():
            if isinstance(value, torch.Tensor) and name not in skip:
                out[prefix + name] = value.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            out.update(module_tensors(child, f"{prefix}{name}.", non_persistent=non_persistent))
    return out


def attribute(obj, name: str, default=None):
    """A plain attribute of a recorded object (e.g. ``img_resolution``), or ``default``."""
    return _state(obj).get(name, default)
