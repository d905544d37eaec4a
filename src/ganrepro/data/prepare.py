"""``prepare(spec, out_dir)``: build the archive a dataset spec describes, once.

A spec is a plain dict (from params/datasets.yaml after the scale is applied)::

    {"source": "embedded", "generator": "shapes", "resolution": 16, "count": 10000,
     "num_classes": 10, "seed": 0, "standin_for": "cifar10"}
    {"source": "cifar10", "path": "data/raw/cifar10", "resolution": 32}

The spec is normalised (defaults filled in, unknown keys rejected) and stored in the manifest as
``meta.spec``. ``prepare`` is idempotent: when ``out_dir`` already holds a valid archive (manifest,
shapes, sha256) built from the same normalised spec it returns at once; otherwise it (re)builds
it atomically. Keys that cannot change the archive (``download``, ``title``) are ignored when
comparing specs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

from ganrepro.data.archive import MANIFEST, open_archive
from ganrepro.errors import DatasetError

log = logging.getLogger(__name__)

SOURCES = ("embedded", "image_folder", "zip", "cifar10", "mnist", "stackedmnist", "imagenet_npz",
           "imagenet_folder", "camera_folder", "lsun_lmdb")
_COMMON = {"source": None, "dataset": None, "standin_for": None, "title": None, "seed": 0, "count": None,
           "num_classes": None}
# Per source: the keys it accepts beyond _COMMON, with defaults (REQUIRED: must be given).
REQUIRED = object()
_KEYS: dict[str, dict[str, Any]] = {
    "embedded": {"generator": REQUIRED, "resolution": REQUIRED, "count": REQUIRED},
    "image_folder": {"path": REQUIRED, "resolution": REQUIRED, "resize_filter": "lanczos", "crop": "center",
                     "channels": 3, "labels": "auto"},
    "zip": {"path": REQUIRED, "resolution": REQUIRED, "resize_filter": "lanczos", "crop": "center",
            "channels": 3, "labels": "auto"},
    "camera_folder": {"path": REQUIRED, "resolution": REQUIRED, "resize_filter": "lanczos", "crop": "center"},
    "lsun_lmdb": {"path": REQUIRED, "resolution": REQUIRED, "resize_filter": "lanczos", "crop": "center"},
    "imagenet_folder": {"path": REQUIRED, "resolution": REQUIRED, "resize_filter": "box", "crop": "center",
                        "labels": "folders"},
    "cifar10": {"path": REQUIRED, "resolution": 32, "resize_filter": "lanczos", "split": "train",
                "download": False},
    "mnist": {"path": REQUIRED, "resolution": 28, "resize_filter": "lanczos", "split": "train",
              "download": False},
    "stackedmnist": {"path": REQUIRED, "resolution": 32, "resize_filter": "bilinear", "download": False},
    "imagenet_npz": {"path": REQUIRED, "resolution": None, "resize_filter": "box", "split": "train"},
}
_NOT_IDENTITY = ("download", "title")


def normalize_spec(spec: dict) -> dict:
    """Validate ``spec`` and fill defaults; DatasetError names the bad key and what is allowed."""
    if not isinstance(spec, dict):
        raise DatasetError(f"a dataset spec must be a mapping, got {type(spec).__name__}")
    source = spec.get("source")
    if source not in _KEYS:
        raise DatasetError(f"unknown dataset source {source!r}; allowed sources: {', '.join(SOURCES)}")
    allowed = {**_COMMON, **_KEYS[source]}
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise DatasetError(f"dataset spec (source {source}) has unknown keys {unknown}; allowed: {sorted(allowed)}")
    out: dict[str, Any] = {}
    for key, default in allowed.items():
        value = spec.get(key, None)
        if value is None:
            if default is REQUIRED:
                raise DatasetError(f"dataset spec (source {source}) needs '{key}'")
            value = default
        out[key] = value
    if out.get("path") is not None:
        out["path"] = str(out["path"])
    if out.get("resolution") is not None and int(out["resolution"]) < 1:
        raise DatasetError(f"dataset spec: resolution must be positive, got {out['resolution']}")
    return dict(sorted(out.items()))


def spec_identity(spec: dict | None) -> dict | None:
    return None if spec is None else {k: v for k, v in spec.items() if k not in _NOT_IDENTITY}


def is_up_to_date(spec: dict, out_dir: str | os.PathLike, *, verify: bool = True) -> bool:
    """True when ``out_dir`` holds a valid archive built from the same (normalised) spec."""
    if not (Path(out_dir) / MANIFEST).is_file():
        return False
    try:
        archive = open_archive(out_dir, verify=verify)
    except DatasetError as exc:
        log.warning("rebuilding %s: %s", out_dir, exc)
        return False
    return spec_identity(archive.manifest.get("meta", {}).get("spec")) == spec_identity(normalize_spec(spec))


def _embedded(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.embedded import make_embedded

    return make_embedded(s["generator"], out_dir, resolution=s["resolution"], count=s["count"],
                         num_classes=s["num_classes"], seed=s["seed"], standin_for=s["standin_for"],
                         dataset=s["dataset"], meta=meta)


def _image_folder(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.real.image_folder import prepare_image_folder

    if s["source"] == "zip" and Path(s["path"]).is_dir():
        raise DatasetError(f"{s['path']}: source 'zip' needs a .zip file; use source 'image_folder' for a directory")
    return prepare_image_folder(s["path"], out_dir, resolution=s["resolution"], resize_filter=s["resize_filter"],
                                crop=s["crop"], channels=s["channels"], count=s["count"], seed=s["seed"],
                                labels=s["labels"], num_classes=s["num_classes"], dataset=s["dataset"],
                                source=s["source"], standin_for=s["standin_for"], meta=meta)


def _imagenet_folder(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.real.imagenet import prepare_imagenet_folder

    return prepare_imagenet_folder(s["path"], out_dir, resolution=s["resolution"], resize_filter=s["resize_filter"],
                                   crop=s["crop"], labels=s["labels"], count=s["count"], seed=s["seed"],
                                   num_classes=s["num_classes"], dataset=s["dataset"],
                                   standin_for=s["standin_for"], meta=meta)


def _torchvision(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.real import torchvision_sets as tv

    fn = {"cifar10": tv.prepare_cifar10, "mnist": tv.prepare_mnist, "stackedmnist": tv.prepare_stackedmnist}
    kwargs = {k: s[k] for k in ("resolution", "resize_filter", "download", "count", "seed", "num_classes",
                                "dataset", "standin_for")}
    if "split" in s:
        kwargs["split"] = s["split"]
    return fn[s["source"]](s["path"], out_dir, meta=meta, **kwargs)


def _imagenet_npz(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.real.imagenet import prepare_imagenet_npz

    return prepare_imagenet_npz(s["path"], out_dir, resolution=s["resolution"], resize_filter=s["resize_filter"],
                                split=s["split"], count=s["count"], seed=s["seed"], num_classes=s["num_classes"],
                                dataset=s["dataset"], standin_for=s["standin_for"], meta=meta)


def _camera_folder(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.real.camera_folder import prepare_camera_folder

    return prepare_camera_folder(s["path"], out_dir, resolution=s["resolution"], resize_filter=s["resize_filter"],
                                 crop=s["crop"], count=s["count"], seed=s["seed"], num_classes=s["num_classes"],
                                 dataset=s["dataset"], standin_for=s["standin_for"], meta=meta)


def _lsun_lmdb(s: dict, out_dir: Path, meta: dict) -> Path:
    from ganrepro.data.real.lsun_lmdb import prepare_lsun_lmdb

    return prepare_lsun_lmdb(s["path"], out_dir, resolution=s["resolution"], resize_filter=s["resize_filter"],
                             crop=s["crop"], count=s["count"], seed=s["seed"], dataset=s["dataset"],
                             standin_for=s["standin_for"], meta=meta)


BUILDERS: dict[str, Callable[[dict, Path, dict], Path]] = {
    "camera_folder": _camera_folder, "lsun_lmdb": _lsun_lmdb,
    "embedded": _embedded, "image_folder": _image_folder, "zip": _image_folder,
    "imagenet_folder": _imagenet_folder, "cifar10": _torchvision, "mnist": _torchvision,
    "stackedmnist": _torchvision, "imagenet_npz": _imagenet_npz,
}


def prepare(spec: dict, out_dir: str | os.PathLike, *, force: bool = False, verify: bool = True) -> Path:
    """Build the archive for ``spec`` at ``out_dir`` unless an identical valid one is there already."""
    norm = normalize_spec(spec)
    out_dir = Path(out_dir)
    if not force and is_up_to_date(norm, out_dir, verify=verify):
        log.info("%s is up to date", out_dir)
        return out_dir
    log.info("preparing %s from %s", out_dir, norm["source"])
    return BUILDERS[norm["source"]](norm, out_dir, {"spec": norm})
