"""The prepared-dataset archive: a directory of ``.npy`` arrays plus ``manifest.json``.

Layout (the contract in docs/ARCHITECTURE.md, "Prepared dataset (the archive)")::

    data/<scale>/<dataset_key>/
        images.npy        uint8 [N, C, H, W], C in {1, 3}, H == W == resolution
        labels.npy        int64 [N], class index or -1 everywhere when unlabelled
        <extra>.npy       optional per-image arrays (digit_labels.npy, poses.npy, ...)
        manifest.json     dataset, source, standin_for, resolution, channels, count, num_classes,
                          resize_filter, arrays {name: {file, shape, dtype, sha256}}, meta, provenance

Writing is atomic at the directory level: everything is written into a hidden sibling directory
(``.<name>.tmp-<host>-<pid>-<rand>``) which is renamed onto ``out_dir`` only once every array and
the manifest are complete, so a killed job never leaves a half archive under the real name.
The sha256 recorded for an array is the digest of its whole ``.npy`` file (header included).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ganrepro.errors import DatasetError
from ganrepro.provenance import provenance
from ganrepro.utils_io import write_json

FORMAT = "ganrepro-archive/1"
MANIFEST = "manifest.json"
REQUIRED_ARRAYS = ("images", "labels")
_MANIFEST_KEYS = ("dataset", "source", "resolution", "channels", "count", "num_classes", "arrays")


def prepare_hint(path: str | os.PathLike, verb: str = "rebuild") -> str:
    """How to (re)build the archive at ``path`` (``data/<scale>/<dataset_key>``)."""
    path = Path(path)
    scale, key = path.parent.name or "?", path.name
    return f"{verb} it with `ganrepro prepare-data --dataset {key} --scale {scale}` (or the workflow's data stage)"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host_tag() -> str:
    return socket.gethostname().replace("-", "_")


def _remove_stale_staging(out_dir: Path) -> None:
    """Delete staging dirs left by killed writers of ``out_dir`` on this host."""
    host = _host_tag()
    for old in out_dir.parent.glob(f".{out_dir.name}.old-*"):  # writer killed mid-publish
        if out_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
    for stale in out_dir.parent.glob(f".{out_dir.name}.tmp-*"):
        parts = stale.name.rsplit("-", 3)  # [.name.tmp, host, pid, rand]
        if len(parts) != 4 or parts[1] != host or not parts[2].isdigit():
            continue
        if not _pid_alive(int(parts[2])):
            shutil.rmtree(stale, ignore_errors=True)


class ArchiveWriter:
    """Stage arrays in a hidden temporary directory, then publish them with one rename.

    Use ``array()`` to get a writable memmap (for datasets too large to hold twice in memory) or
    ``put()`` for an in-memory array, then ``commit(...)``. Leaving the ``with`` block without a
    commit (an exception) removes the staging directory.
    """

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = Path(out_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(self.out_dir)
        tag = f"{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"
        self.staging = self.out_dir.parent / f".{self.out_dir.name}.tmp-{tag}"
        self.staging.mkdir()
        self._arrays: dict[str, np.ndarray] = {}
        self.committed = False

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.abort()

    def abort(self) -> None:
        if not self.committed and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)

    @staticmethod
    def _check_name(name: str) -> None:
        if not name.isidentifier():
            raise ValueError(f"array name {name!r} must be a plain identifier")

    def array(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.memmap:
        """A zero-filled writable memmap that becomes ``<name>.npy``."""
        self._check_name(name)
        arr = np.lib.format.open_memmap(self.staging / f"{name}.npy", mode="w+",
                                        dtype=np.dtype(dtype), shape=tuple(int(s) for s in shape))
        self._arrays[name] = arr
        return arr

    def put(self, name: str, value: np.ndarray) -> None:
        self._check_name(name)
        value = np.ascontiguousarray(value)
        np.save(self.staging / f"{name}.npy", value, allow_pickle=False)
        self._arrays[name] = value

    def commit(self, *, dataset: str, source: str, standin_for: str | None = None,
               resize_filter: str | None = None, num_classes: int | None = None,
               meta: Mapping[str, Any] | None = None) -> Path:
        images = self._arrays.get("images")
        if images is None:
            raise ValueError("an archive needs an 'images' array")
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3) \
                or images.shape[2] != images.shape[3]:
            raise ValueError(f"images must be uint8 [N, C in (1, 3), H, H], got {images.dtype} {images.shape}")
        n = int(images.shape[0])
        if "labels" not in self._arrays:
            self.put("labels", np.full(n, -1, dtype=np.int64))
        labels = self._arrays["labels"]
        if labels.dtype != np.int64 or labels.shape != (n,):
            raise ValueError(f"labels must be int64 [{n}], got {labels.dtype} {labels.shape}")
        for name, arr in self._arrays.items():
            if arr.shape[:1] != (n,):
                raise ValueError(f"array {name!r} has {arr.shape[:1]} rows, images have {n}")
        if num_classes is None:
            num_classes = int(labels.max()) + 1 if n and labels.max() >= 0 else 0
        problem = _label_problem(labels, int(num_classes))
        if problem:
            raise ValueError(problem)
        for arr in self._arrays.values():
            if isinstance(arr, np.memmap):
                arr.flush()
        arrays = {}
        for name, arr in self._arrays.items():
            file = self.staging / f"{name}.npy"
            arrays[name] = {"file": file.name, "shape": list(arr.shape), "dtype": arr.dtype.str,
                            "sha256": sha256_file(file)}
        self._arrays.clear()  # drop memmaps before the rename
        spec = dict(meta or {}).get("spec")
        manifest = {
            "format": FORMAT,
            "dataset": dataset,
            "source": source,
            "standin_for": standin_for,
            "resolution": int(images.shape[2]),
            "channels": int(images.shape[1]),
            "count": n,
            "num_classes": int(num_classes),
            "resize_filter": resize_filter,
            "arrays": arrays,
            "meta": dict(meta or {}),
            "provenance": provenance(config=spec, seeds={"data": spec.get("seed")} if spec else None),
        }
        write_json(self.staging / MANIFEST, manifest)
        self._publish()
        self.committed = True
        return self.out_dir

    def _publish(self) -> None:
        old = None
        if self.out_dir.exists() or self.out_dir.is_symlink():
            old = self.out_dir.parent / f".{self.out_dir.name}.old-{secrets.token_hex(4)}"
            os.replace(self.out_dir, old)
        os.replace(self.staging, self.out_dir)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()


def write_archive(out_dir: str | os.PathLike, images: np.ndarray, labels: np.ndarray | None, *,
                  dataset: str, source: str, standin_for: str | None = None,
                  resize_filter: str | None = None, extra_arrays: Mapping[str, np.ndarray] | None = None,
                  meta: Mapping[str, Any] | None = None, num_classes: int | None = None) -> Path:
    """Write an archive atomically and return its path.

    ``images`` uint8 [N, C, H, W]; ``labels`` int64 [N] or None (stored as -1). ``num_classes``
    defaults to ``max(labels) + 1`` (0 when unlabelled). ``meta`` is stored verbatim under
    ``manifest["meta"]`` (prepare() keeps its spec there as ``meta["spec"]``).
    """
    images = np.asarray(images)
    if labels is not None:
        labels = np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got {labels.dtype}")
        labels = labels.astype(np.int64, copy=False)
    with ArchiveWriter(out_dir) as writer:
        writer.put("images", images)
        if labels is not None:
            writer.put("labels", labels)
        for name, arr in (extra_arrays or {}).items():
            if name in REQUIRED_ARRAYS:
                raise ValueError(f"extra array name {name!r} is reserved")
            writer.put(name, np.asarray(arr))
        return writer.commit(dataset=dataset, source=source, standin_for=standin_for,
                             resize_filter=resize_filter, num_classes=num_classes, meta=meta)


@dataclass
class Archive:
    """An opened archive. Arrays are read-only memmaps (labels are loaded into memory)."""

    path: Path
    manifest: dict
    images: np.ndarray
    labels: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.images.shape[0])

    @property
    def resolution(self) -> int:
        return int(self.images.shape[2])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def num_classes(self) -> int:
        return int(self.manifest["num_classes"])

    @property
    def labelled(self) -> bool:
        return bool(self.count) and bool(self.labels[0] >= 0)

    @property
    def dataset(self) -> str:
        return self.manifest["dataset"]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, name: str) -> np.ndarray:
        """Any array by name: ``archive["images"]``, ``archive["digit_labels"]``."""
        if name == "images":
            return self.images
        if name == "labels":
            return self.labels
        try:
            return self.extra[name]
        except KeyError:
            raise KeyError(f"{self.path} has no array {name!r}; it has {sorted(self.manifest['arrays'])}") from None


def _label_problem(labels: np.ndarray, num_classes: int) -> str | None:
    """Labels are all -1 (num_classes 0) or all in [0, num_classes)."""
    if not len(labels):
        return None
    lo, hi = int(labels.min()), int(labels.max())
    if num_classes == 0 and (lo, hi) != (-1, -1):
        return f"num_classes is 0 but labels span [{lo}, {hi}] instead of all -1"
    if num_classes > 0 and (lo < 0 or hi >= num_classes):
        return f"labels span [{lo}, {hi}], outside [0, {num_classes})"
    return None


def _fail(path: Path, problem: str, archive_dir: Path) -> DatasetError:
    return DatasetError(f"{path}: {problem}; {prepare_hint(archive_dir)}")


def open_archive(path: str | os.PathLike, verify: bool = True) -> Archive:
    """Open and validate an archive; raise DatasetError naming the bad file and the fix.

    Always checked: the directory and manifest exist and parse, every listed array exists and
    has the recorded shape and dtype, images/labels are consistent with the manifest.
    ``verify=True`` also checks each file's sha256 (reads every byte once).
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset directory does not exist; {prepare_hint(root, 'prepare')}")
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise _fail(mpath, "missing (the archive is incomplete)", root)
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(mpath, f"is not valid JSON (truncated or corrupt: {exc})", root) from None
    if not isinstance(manifest, dict) or any(k not in manifest for k in _MANIFEST_KEYS):
        missing = [k for k in _MANIFEST_KEYS if not isinstance(manifest, dict) or k not in manifest]
        raise _fail(mpath, f"lacks required fields {missing}", root)
    arrays_meta = manifest["arrays"]
    for name in REQUIRED_ARRAYS:
        if name not in arrays_meta:
            raise _fail(mpath, f"lists no '{name}' array", root)

    loaded: dict[str, np.ndarray] = {}
    for name, info in arrays_meta.items():
        file = root / info.get("file", f"{name}.npy")
        if not file.is_file():
            raise _fail(file, "missing", root)
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise _fail(file, f"unreadable or truncated ({exc})", root) from None
        if list(arr.shape) != list(info["shape"]) or arr.dtype.str != info["dtype"]:
            raise _fail(file, f"has shape {list(arr.shape)} dtype {arr.dtype.str}, manifest says "
                              f"{info['shape']} {info['dtype']}", root)
        if verify:
            digest = sha256_file(file)
            if digest != info["sha256"]:
                raise _fail(file, f"sha256 mismatch (file {digest[:12]}..., manifest "
                                  f"{info['sha256'][:12]}...): the file is corrupt", root)
        loaded[name] = arr

    images, labels = loaded.pop("images"), np.asarray(loaded.pop("labels"))
    n = manifest["count"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[0] != n \
            or images.shape[1] != manifest["channels"] \
            or images.shape[2:] != (manifest["resolution"], manifest["resolution"]):
        raise _fail(root / "images.npy", f"shape {images.shape} {images.dtype} disagrees with the manifest "
                                         f"(count {n}, channels {manifest['channels']}, "
                                         f"resolution {manifest['resolution']}, uint8)", root)
    if labels.dtype != np.int64 or labels.shape != (n,):
        raise _fail(root / "labels.npy", f"shape {labels.shape} {labels.dtype}, expected int64 [{n}]", root)
    problem = _label_problem(labels, int(manifest["num_classes"]))
    if problem:
        raise _fail(root / "labels.npy", problem, root)
    return Archive(path=root, manifest=manifest, images=images, labels=labels, extra=loaded)
