"""Downsampled ImageNet (32x32, 64x64): from the official npz batches or from an image folder.

npz layout (Chrabaszcz et al. 2017, image-net.org "Downsampled ImageNet"): a directory such as
``Imagenet32_train_npz/`` holding ``train_data_batch_1.npz`` ... ``train_data_batch_10.npz``
(validation: ``val_data.npz``). Each file has ``data`` uint8 [n, 3*R*R] stored channel-planar
(all R values, then G, then B, each row-major) and ``labels`` [n] with classes numbered 1..1000;
the archive stores ``label - 1``. Batches are streamed one at a time into a memmap, so preparing
ImageNet64 (1.28M x 12288 bytes) never holds the dataset twice in memory.

From an image folder (the ILSVRC ``train/n01440764/*.JPEG`` layout): class = sorted synset folder,
centre crop, ``box`` filter (the filter the downsampled-ImageNet authors used) by default.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ganrepro.data.archive import ArchiveWriter
from ganrepro.data.real.common import label_policy, subset_indices
from ganrepro.data.real.image_folder import prepare_image_folder
from ganrepro.data.resize import check_filter, resize_uint8
from ganrepro.errors import DatasetError

IMAGENET_CLASSES = 1000
DOWNLOAD_HINT = ("download Imagenet32_train_npz.zip / Imagenet64_train_*.zip ('Downsampled ImageNet', "
                 "https://image-net.org/download-images, login required) and unzip it there")


def find_npz_batches(path: str | os.PathLike, split: str = "train") -> list[Path]:
    """The batch files of ``split`` in ``path`` (train batches in numeric order)."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: ImageNet npz directory not found; {DOWNLOAD_HINT}")
    if split == "train":
        files = [p for p in root.glob("train_data_batch_*.npz") if re.fullmatch(r"train_data_batch_\d+\.npz", p.name)]
        files.sort(key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    elif split == "val":
        files = [root / "val_data.npz"] if (root / "val_data.npz").is_file() else []
    else:
        raise DatasetError(f"unknown ImageNet split {split!r}; use 'train' or 'val'")
    if not files:
        pattern = "train_data_batch_<k>.npz" if split == "train" else "val_data.npz"
        raise DatasetError(f"{root}: no {pattern} files; {DOWNLOAD_HINT}")
    return files


def _read_batch(file: Path, key: str) -> np.ndarray:
    try:
        with np.load(file, allow_pickle=False) as z:
            if key not in z.files:
                raise DatasetError(f"{file}: has no '{key}' array (has {z.files}); not a downsampled-ImageNet batch")
            return z[key]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{file}: unreadable npz ({exc}); re-download or re-extract it") from None


def _native_resolution(file: Path, data: np.ndarray) -> int:
    if data.ndim != 2 or data.dtype != np.uint8:
        raise DatasetError(f"{file}: 'data' is {data.dtype} {data.shape}, expected uint8 [n, 3*R*R]")
    res = int(round((data.shape[1] / 3) ** 0.5))
    if 3 * res * res != data.shape[1]:
        raise DatasetError(f"{file}: rows of {data.shape[1]} values are not 3*R*R images")
    return res


def prepare_imagenet_npz(path: str | os.PathLike, out_dir: str | os.PathLike, *, resolution: int | None = None,
                         resize_filter: str = "box", split: str = "train", count: int | None = None, seed: int = 0,
                         num_classes: int | None = None, dataset: str | None = None,
                         standin_for: str | None = None, meta: dict[str, Any] | None = None) -> Path:
    """Stream the npz batches into an archive (labels 0..999); resize only if ``resolution`` differs."""
    check_filter(resize_filter)
    files = find_npz_batches(path, split)
    labels = []
    for f in files:
        lab = np.asarray(_read_batch(f, "labels")).reshape(-1).astype(np.int64)
        if lab.size and (lab.min() < 1 or lab.max() > IMAGENET_CLASSES):
            raise DatasetError(f"{f}: labels outside 1..{IMAGENET_CLASSES} (expected the official 1-based labels)")
        labels.append(lab - 1)
    all_labels = np.concatenate(labels)
    pick = subset_indices(len(all_labels), count, seed, f"ImageNet npz at {path}")
    kept, n_cls = label_policy(all_labels[pick], IMAGENET_CLASSES, num_classes, f"ImageNet npz at {path}")

    with ArchiveWriter(out_dir) as writer:
        images = None
        start, row = 0, 0
        native = None
        for f, lab in zip(files, labels):
            stop = start + len(lab)
            local = pick[(pick >= start) & (pick < stop)] - start
            start = stop
            if not len(local):
                continue
            data = _read_batch(f, "data")
            res = _native_resolution(f, data)
            if len(data) != len(lab):
                raise DatasetError(f"{f}: {len(data)} images but {len(lab)} labels; re-download it")
            if native is None:
                native = res
                out_res = int(resolution or res)
                images = writer.array("images", (len(pick), 3, out_res, out_res), np.uint8)
            elif res != native:
                raise DatasetError(f"{f}: {res}x{res} images but earlier batches are {native}x{native}; "
                                   f"do not mix ImageNet32 and ImageNet64 batches in one folder")
            batch = data[local].reshape(-1, 3, res, res)
            images[row:row + len(batch)] = resize_uint8(batch, out_res, resize_filter)
            row += len(batch)
        if kept is not None:
            writer.put("labels", kept)
        resized = resolution is not None and resolution != native
        return writer.commit(dataset=dataset or Path(out_dir).name, source=f"imagenet_npz:{path}",
                             standin_for=standin_for, resize_filter=resize_filter if resized else None,
                             num_classes=n_cls,
                             meta={"split": split, "native_resolution": native, "batches": [f.name for f in files],
                                   **(meta or {})})


def prepare_imagenet_folder(path: str | os.PathLike, out_dir: str | os.PathLike, *, resolution: int,
                            resize_filter: str = "box", **kwargs: Any) -> Path:
    """ILSVRC-style ``<synset>/<image>.JPEG`` folder (or zip) -> archive, labels from sorted synsets."""
    kwargs.setdefault("labels", "folders")
    kwargs.setdefault("crop", "center")
    return prepare_image_folder(path, out_dir, resolution=resolution, resize_filter=resize_filter,
                                source="imagenet_folder", **kwargs)
