"""LSUN LMDB database (e.g. ``church_outdoor_train_lmdb/``) -> archive.

The LSUN release stores one category per LMDB environment (a directory holding ``data.mdb`` and
``lock.mdb``): keys are image ids, values the encoded images (WebP in the official release; JPEG
and PNG are accepted too). Images are read in key order (LMDB keeps keys sorted, so the order does
not depend on the machine), decoded with PIL, centre-cropped to a square and resized with the named
filter, exactly as image folders are (``image_folder.decode_image``). Unlabelled.

Needs the ``lmdb`` binding (PyPI ``lmdb``), imported only when an LMDB is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganrepro.data.archive import ArchiveWriter
from ganrepro.data.real.common import subset_indices
from ganrepro.data.real.image_folder import decode_image
from ganrepro.data.resize import check_crop, check_filter
from ganrepro.errors import DatasetError


def _open_env(path: Path):
    try:
        import lmdb
    except ImportError:
        raise DatasetError(f"{path}: reading LSUN needs the 'lmdb' package (pip install lmdb); it is not "
                           f"installed in this environment") from None
    if not (path / "data.mdb").is_file():
        raise DatasetError(f"{path}: no data.mdb found; point 'path' at the LSUN *_lmdb directory "
                           f"(e.g. data/raw/lsun/church_outdoor_train_lmdb), unpacked from its zip")
    try:
        return lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_readers=1)
    except lmdb.Error as exc:
        raise DatasetError(f"{path / 'data.mdb'}: not a readable LMDB ({exc}); re-download and unpack it") from None


def lmdb_keys(path: str | os.PathLike) -> list[bytes]:
    """All keys of the LMDB at ``path``, in LMDB (sorted) order."""
    path = Path(path)
    env = _open_env(path)
    try:
        with env.begin(write=False) as txn:
            keys = list(txn.cursor().iternext(keys=True, values=False))
    finally:
        env.close()
    if not keys:
        raise DatasetError(f"{path}: the LMDB holds no images")
    return keys


def prepare_lsun_lmdb(path: str | os.PathLike, out_dir: str | os.PathLike, *, resolution: int,
                      resize_filter: str = "lanczos", crop: str = "center", count: int | None = None,
                      seed: int = 0, dataset: str | None = None, standin_for: str | None = None,
                      meta: dict[str, Any] | None = None) -> Path:
    """Decode every (or ``count`` randomly chosen) image of an LSUN LMDB into an RGB archive."""
    check_filter(resize_filter)
    check_crop(crop)
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: not found; download the LSUN category (e.g. church_outdoor_train_lmdb.zip) "
                           f"and unpack it there (or fix 'path' in the dataset spec)")
    keys = lmdb_keys(path)
    pick = subset_indices(len(keys), count, seed, str(path))
    env = _open_env(path)
    try:
        with env.begin(write=False) as txn, ArchiveWriter(out_dir) as writer:
            images = writer.array("images", (len(pick), 3, resolution, resolution), np.uint8)
            for i, k in enumerate(pick):
                key = keys[k]
                data = txn.get(key)
                where = f"{path / 'data.mdb'}[key {key.decode(errors='replace')}]"
                if data is None:
                    raise DatasetError(f"{where}: key listed but no value; the LMDB is corrupt, re-download it")
                images[i] = decode_image(data, where, resolution=resolution, resize_filter=resize_filter,
                                         crop=crop, channels=3)
            info = {"files": len(pick), "crop": crop, "lmdb_entries": len(keys), **(meta or {})}
            return writer.commit(dataset=dataset or Path(out_dir).name, source=f"lsun_lmdb:{path}",
                                 standin_for=standin_for, resize_filter=resize_filter, num_classes=0, meta=info)
    finally:
        env.close()
