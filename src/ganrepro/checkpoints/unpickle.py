"""Read official GAN checkpoints without importing or executing any of their code.

The official snapshots are pickles of network objects: stylegan2-ada-pytorch and EpiGRAF write them
through ``torch_utils.persistence``, whose reduce embeds each class's source code and calls
``_reconstruct_persistent_obj(meta)`` on load (which would ``exec`` that source); R3GAN pickles its own
module classes plainly; CIPS ``torch.save``s state dicts next to an argparse namespace.

``RestrictedUnpickler`` (the pure-Python unpickler, so each opcode can be checked) never imports a
module. Every global it is asked for is one of
- a small allowlist of constructors that only rebuild data (tensors, storages, parameters, ordered
  dicts, sets, numpy scalars and arrays, torch dtypes and sizes);
- the persistence reduce, replaced by a function that returns an inert ``Record`` of the object's
  state (its embedded source is kept as text, never executed);
- anything else: an inert ``Record`` class. Instantiating it the way pickle rebuilds an object
  (``cls.__new__`` + state) records the state; CALLING it (a ``REDUCE`` of an arbitrary callable such
  as ``os.system``) raises ``UnsafeCheckpointError`` before anything runs.
"""

from __future__ import annotations

import collections
import io
import pickle

import numpy as np
import torch

from ganrepro.errors import GanreproError


class UnsafeCheckpointError(GanreproError):
    """The checkpoint asks to run code that is not a data constructor: refused."""


class Record:
    """An inert stand-in for an object of an official class: its class name and pickled state."""

    _module, _name = "?", "?"

    def __setstate__(self, state):
        self.state = state

    @property
    def qualname(self) -> str:
        return f"{self._module}.{self._name}"

    def __repr__(self):
        return f"<Record {self.qualname}>"


class _InertMeta(type):
    def __call__(cls, *args, **kwargs):
        raise UnsafeCheckpointError(
            f"the checkpoint asks to call {cls._module}.{cls._name}{_short(args)} while loading; only data "
            "constructors (tensors, dicts, numbers) are allowed, nothing is executed. The file is not an "
            "official GAN snapshot or it was tampered with: get the checkpoint from the paper's release page")


def _short(args) -> str:
    text = repr(args)
    return text if len(text) < 80 else text[:77] + "..."


_RECORD_CLASSES: dict[tuple[str, str], type] = {}


def record_class(module: str, name: str) -> type:
    """The inert class standing for ``module.name`` (one per name, so isinstance checks work)."""
    key = (module, name)
    if key not in _RECORD_CLASSES:
        _RECORD_CLASSES[key] = _InertMeta(name, (Record,), {"_module": module, "_name": name})
    return _RECORD_CLASSES[key]


class PersistentRecord(Record):
    """A ``torch_utils.persistence`` object: class name, embedded source (text only) and state."""

    _module = "torch_utils.persistence"

    def __init__(self, meta: dict):
        self._name = meta.get("class_name", "?")
        self.module_src = meta.get("module_src", "")  # text, never executed
        self.state = meta.get("state", {})


def _reconstruct_persistent(meta):
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise UnsafeCheckpointError(f"unknown torch_utils.persistence record (type {getattr(meta, 'get', dict)('type')!r}): "
                                    "only persistent classes are read")
    return PersistentRecord(meta)


def _storage_from_bytes(data: bytes):
    """torch.storage._load_from_bytes, with the inner load restricted to weights (no code)."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _reconstructor(cls, base, state):
    """copyreg._reconstructor (protocol 0/1 objects): only inert records are rebuilt."""
    if not (isinstance(cls, type) and issubclass(cls, Record)) or base is not object:
        raise UnsafeCheckpointError(f"copyreg._reconstructor({cls!r}, {base!r}) is not a plain object rebuild")
    return Record.__new__(cls)


def _numpy_global(name):
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    return {"scalar": multiarray.scalar, "_reconstruct": multiarray._reconstruct, "dtype": np.dtype,
            "ndarray": np.ndarray}.get(name)


_TORCH_REBUILD = {name: getattr(torch._utils, name) for name in (
    "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
    "_rebuild_parameter_with_state") if hasattr(torch._utils, name)}
_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("__builtin__", "set"): set,
    ("copyreg", "_reconstructor"): _reconstructor, ("copy_reg", "_reconstructor"): _reconstructor,
    ("torch", "Size"): torch.Size, ("torch", "device"): torch.device,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    **{("torch._utils", name): fn for name, fn in _TORCH_REBUILD.items()},
}


def allowed_global(module: str, name: str):
    """The allowlisted object for ``module.name``, or None."""
    if (module, name) in _ALLOWED:
        return _ALLOWED[(module, name)]
    if module.endswith("torch_utils.persistence") and name == "_reconstruct_persistent_obj":
        return _reconstruct_persistent
    if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
        return getattr(torch, name)
    if module == "torch" and name.endswith("Storage") and hasattr(torch, name):
        return getattr(torch, name)  # legacy typed storage classes (torch.load resolves them itself)
    if module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy"):
        return _numpy_global(name)
    return None


class RestrictedUnpickler(pickle._Unpickler):
    """pickle's pure-Python unpickler whose globals are data constructors or inert records."""

    def find_class(self, module, name):
        found = allowed_global(module, name)
        return found if found is not None else record_class(module, name)


def load_pickle(path) -> object:
    """The object tree of a snapshot pickle (``network-snapshot-*.pkl``), with inert records."""
    with open(path, "rb") as f:
        return RestrictedUnpickler(f).load()


class _RestrictedPickleModule:
    """A ``pickle_module`` for ``torch.load``: its unpickler is the restricted one."""

    Unpickler = RestrictedUnpickler
    UnpicklingError = pickle.UnpicklingError
    __name__ = "ganrepro_restricted_pickle"

    @staticmethod
    def load(f, **kwargs):
        return RestrictedUnpickler(f, **kwargs).load()


def load_torch(path) -> object:
    """``torch.load`` of a ``.pt`` file through the restricted unpickler (no code runs)."""
    return torch.load(path, map_location="cpu", pickle_module=_RestrictedPickleModule, weights_only=False)

