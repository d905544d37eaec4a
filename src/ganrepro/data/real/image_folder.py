"""Image folder or zip of PNG/JPG files -> archive.

Images are listed recursively and sorted by their relative path (POSIX separators), so the
order, and hence the archive, does not depend on the file system. Labels, in order of precedence
(``labels="auto"``):

1. ``dataset.json`` at the root, StyleGAN's format ``{"labels": [["rel/path.png", 3], ...]}``
   (R3GAN and StyleGAN2-ADA dataset zips carry it; ``"labels": null`` means unlabelled);
2. class subfolders: when every image lies inside a first-level folder, the label is the index of
   that folder's name among the sorted folder names (ImageNet's ``n01440764/...`` layout);
3. otherwise unlabelled.

Each image is decoded with PIL, converted to RGB (or L for ``channels=1``), centre-cropped to a
square (``crop="center"``, the default) or not (``crop="stretch"``), and resized with the named
filter (``lanczos`` default, as StyleGAN's dataset_tool; ``bicubic``, ``bilinear``, ``box``,
``nearest``). Decoding runs in a thread pool (PIL releases the GIL); results do not depend on it.
"""

from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from ganrepro.data.archive import ArchiveWriter
from ganrepro.data.real.common import label_policy, subset_indices
from ganrepro.data.resize import check_crop, check_filter, resize_pil
from ganrepro.errors import DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
LABEL_MODES = ("auto", "dataset_json", "folders", "none")


class ImageSource:
    """A directory or a zip file of images, listed and read uniformly."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetError(f"{self.path}: not found; put the image folder or zip there "
                               f"(or fix 'path' in the dataset spec)")
        self._lock = threading.Lock()
        self.zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]
        else:
            try:
                self.zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DatasetError(f"{self.path}: not a readable zip file ({exc}); re-download or "
                                   f"re-create it") from None
            names = [i.filename for i in self.zip.infolist() if not i.is_dir()]
        self.all_names = sorted(names)
        self.images = [n for n in self.all_names
                       if PurePosixPath(n).suffix.lower() in IMAGE_EXTENSIONS
                       and not any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(n).parts)]
        if not self.images:
            raise DatasetError(f"{self.path}: no {'/'.join(IMAGE_EXTENSIONS)} images found")

    def display(self, name: str) -> str:
        return f"{self.path}:{name}" if self.zip else str(self.path / name)

    def read(self, name: str) -> bytes:
        if self.zip is None:
            return (self.path / name).read_bytes()
        with self._lock:
            return self.zip.read(name)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _dataset_json_labels(src: ImageSource) -> tuple[np.ndarray | None, list[str] | None] | None:
    """Labels from a StyleGAN ``dataset.json``; None when there is no such file."""
    if "dataset.json" not in src.all_names:
        return None
    where = src.display("dataset.json")
    try:
        table = json.loads(src.read("dataset.json")).get("labels")
    except (ValueError, AttributeError) as exc:
        raise DatasetError(f"{where}: not valid JSON with a 'labels' key ({exc}); fix or remove it") from None
    if table is None:
        return None, None
    mapping = {str(name): lab for name, lab in table}
    missing = [n for n in src.images if n not in mapping]
    if missing:
        raise DatasetError(f"{where}: has no label for {len(missing)} images, e.g. {missing[0]!r}; "
                           f"add them or remove dataset.json")
    values = [mapping[n] for n in src.images]
    if any(not isinstance(v, int) or v < 0 for v in values):
        raise DatasetError(f"{where}: labels must be non-negative integers (one class index per image)")
    return np.asarray(values, dtype=np.int64), None


def _folder_labels(src: ImageSource) -> tuple[np.ndarray, list[str]] | None:
    parts = [PurePosixPath(n).parts for n in src.images]
    if not all(len(p) >= 2 for p in parts):
        return None
    classes = sorted({p[0] for p in parts})
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[p[0]] for p in parts], dtype=np.int64), classes


def infer_labels(src: ImageSource, mode: str = "auto") -> tuple[np.ndarray | None, list[str] | None]:
    """(labels int64 [n] aligned with ``src.images`` or None, class names or None)."""
    if mode not in LABEL_MODES:
        raise DatasetError(f"unknown labels mode {mode!r}; use one of {list(LABEL_MODES)}")
    if mode in ("auto", "dataset_json"):
        found = _dataset_json_labels(src)
        if found is not None:
            return found
        if mode == "dataset_json":
            raise DatasetError(f"{src.display('dataset.json')}: not found but labels: dataset_json was asked for")
    if mode in ("auto", "folders"):
        found = _folder_labels(src)
        if found is not None:
            return found
        if mode == "folders":
            raise DatasetError(f"{src.path}: labels: folders needs every image inside a class subfolder")
    return None, None


def decode_image(data: bytes, where: str, *, resolution: int, resize_filter: str, crop: str,
                 channels: int) -> np.ndarray:
    """Encoded bytes -> uint8 [C, R, R]; DatasetError naming ``where`` if it cannot be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = img.convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise DatasetError(f"{where}: cannot decode image ({exc}); remove or replace this file, then "
                           f"re-run `ganrepro prepare-data`") from None
    arr = np.asarray(resize_pil(img, resolution, resize_filter, crop))
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def prepare_image_folder(path: str | os.PathLike, out_dir: str | os.PathLike, *, resolution: int,
                         resize_filter: str = "lanczos", crop: str = "center", channels: int = 3,
                         count: int | None = None, seed: int = 0, labels: str = "auto",
                         num_classes: int | None = None, dataset: str | None = None, source: str = "image_folder",
                         standin_for: str | None = None, meta: dict[str, Any] | None = None,
                         workers: int | None = None) -> Path:
    """Decode, crop and resize every (or ``count`` randomly chosen) image into an archive."""
    check_filter(resize_filter)
    check_crop(crop)
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 or 3, got {channels}")
    src = ImageSource(path)
    try:
        all_labels, class_names = infer_labels(src, labels)
        found = len(class_names) if class_names else (int(all_labels.max()) + 1 if all_labels is not None else 0)
        all_labels, n_cls = label_policy(all_labels, found, num_classes, str(src.path))
        pick = subset_indices(len(src.images), count, seed, str(src.path))
        names = [src.images[i] for i in pick]

        def load(name: str) -> np.ndarray:
            return decode_image(src.read(name), src.display(name), resolution=resolution,
                                resize_filter=resize_filter, crop=crop, channels=channels)

        with ArchiveWriter(out_dir) as writer:
            images = writer.array("images", (len(names), channels, resolution, resolution), np.uint8)
            pool = ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1))
            try:
                for i, arr in enumerate(pool.map(load, names)):
                    images[i] = arr
            finally:
                pool.shutdown(wait=True, cancel_futures=True)  # on error: stop at the first bad file
            if all_labels is not None:
                writer.put("labels", all_labels[pick])
            info = {"files": len(names), "crop": crop, "labels_from": labels,
                    **({"class_names": class_names} if class_names and all_labels is not None else {}),
                    **(meta or {})}
            return writer.commit(dataset=dataset or Path(out_dir).name, source=f"{source}:{src.path}",
                                 standin_for=standin_for, resize_filter=resize_filter, num_classes=n_cls,
                                 meta=info)
    finally:
        src.close()
