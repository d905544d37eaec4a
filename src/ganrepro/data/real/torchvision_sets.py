"""CIFAR-10, MNIST and StackedMNIST from the real files, read through torchvision.

Nothing is downloaded unless ``download=True`` is passed (spec key ``download: true``). When the
files are absent the error says where to put them:

* CIFAR-10: ``<path>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}`` (extract
  ``cifar-10-python.tar.gz`` into ``<path>``). torchvision checks their md5 sums.
* MNIST: the four uncompressed idx files (``train-images-idx3-ubyte`` ...) in ``<path>``,
  ``<path>/raw`` or ``<path>/MNIST/raw`` (torchvision's own layout, used when it downloads).

StackedMNIST (1000 modes): each sample stacks three independently drawn MNIST training digits as
R, G, B; label ``100 * d_R + 10 * d_G + d_B``; ``digit_labels.npy`` [N, 3]. Digits are brought to
32x32 by zero-padding 2 pixels on each side, not by resizing: MNIST digits already sit in a black
border, so padding keeps every pixel value exact (no resampling blur) and gives the usual 32x32
StackedMNIST. Other resolutions resize the padded 32x32 digits with ``resize_filter``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganrepro.data.archive import write_archive
from ganrepro.data.real.common import label_policy, subset_indices
from ganrepro.data.resize import resize_uint8
from ganrepro.errors import DatasetError

SPLITS = ("train", "test", "all")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _splits(split: str) -> list[str]:
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use one of {list(SPLITS)}")
    return ["train", "test"] if split == "all" else [split]


def load_cifar10(path: str | os.PathLike, *, split: str = "train",
                 download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 as (uint8 [N, 3, 32, 32], int64 [N]). ``path`` holds ``cifar-10-batches-py``."""
    from torchvision.datasets import CIFAR10

    root = Path(path)
    if root.name == CIFAR10.base_folder:
        root = root.parent
    images, labels = [], []
    for part in _splits(split):
        try:
            ds = CIFAR10(str(root), train=(part == "train"), download=download)
        except RuntimeError:
            raise DatasetError(
                f"{root / CIFAR10.base_folder}: CIFAR-10 not found or corrupt (md5 mismatch). Download "
                f"cifar-10-python.tar.gz from {CIFAR10_URL} and extract it into {root} (giving "
                f"{root / CIFAR10.base_folder}/data_batch_1 ...), or set download: true in the dataset spec "
                f"on a machine with internet") from None
        except OSError as exc:  # download attempted and failed
            raise DatasetError(f"{root}: downloading CIFAR-10 failed ({exc}); place the files by hand "
                               f"(see {CIFAR10_URL})") from None
        images.append(np.asarray(ds.data, dtype=np.uint8).transpose(0, 3, 1, 2))
        labels.append(np.asarray(ds.targets, dtype=np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def _find_mnist_dir(root: Path, files: tuple[str, str]) -> Path | None:
    for cand in (root, root / "raw", root / "MNIST" / "raw"):
        if all((cand / f).is_file() for f in files):
            return cand
    return None


def load_mnist(path: str | os.PathLike, *, split: str = "train",
               download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MNIST as (uint8 [N, 1, 28, 28], int64 [N]), read with torchvision's idx reader."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.mnist import read_image_file, read_label_file

    root = Path(path)
    images, labels = [], []
    for part in _splits(split):
        files = MNIST_FILES[part]
        where = _find_mnist_dir(root, files)
        if where is None and download:
            try:
                MNIST(str(root), train=(part == "train"), download=True)
            except (RuntimeError, OSError) as exc:
                raise DatasetError(f"{root}: downloading MNIST failed ({exc}); place the idx files by hand") from None
            where = _find_mnist_dir(root, files)
        if where is None:
            raise DatasetError(
                f"{root}: MNIST {part} files {list(files)} not found in {root}, {root / 'raw'} or "
                f"{root / 'MNIST' / 'raw'}. Put the uncompressed idx files (from the .gz files of "
                f"http://yann.lecun.com/exdb/mnist/ or a mirror) there, or set download: true in the "
                f"dataset spec on a machine with internet")
        try:
            x = read_image_file(str(where / files[0])).numpy()
            y = read_label_file(str(where / files[1])).numpy()
        except (AssertionError, TypeError, ValueError, RuntimeError, IndexError) as exc:
            raise DatasetError(f"{where}: MNIST idx files unreadable ({exc}); replace them") from None
        if len(x) != len(y):
            raise DatasetError(f"{where / files[0]}: {len(x)} images but {len(y)} labels in {files[1]}; "
                               f"replace the files")
        images.append(x[:, None])
        labels.append(y.astype(np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def pad_to_32(digits: np.ndarray) -> np.ndarray:
    """uint8 [n, 1, 28, 28] -> [n, 1, 32, 32] with a 2-pixel black border."""
    return np.pad(digits, ((0, 0), (0, 0), (2, 2), (2, 2)))


def stack_digits(digits: np.ndarray, digit_labels: np.ndarray, *, count: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three independent uniform draws per sample as R, G, B: (uint8 [N, 3, H, W], int64 [N, 3])."""
    draw = np.random.default_rng([int(seed), 0x5D1617]).integers(0, len(digits), size=(int(count), 3))
    return digits[draw][:, :, 0], digit_labels[draw].astype(np.int64)


def _write(out_dir, images, labels, num_classes, *, resolution, resize_filter, dataset, source,
           standin_for, meta, extra=None) -> Path:
    if resolution is not None and resolution != images.shape[-1]:
        images = resize_uint8(images, int(resolution), resize_filter)
        filt = resize_filter
    else:
        filt = None
    return write_archive(out_dir, images, labels, dataset=dataset or Path(out_dir).name, source=source,
                         standin_for=standin_for, resize_filter=filt, extra_arrays=extra, meta=meta,
                         num_classes=num_classes)


def _prepare_labelled(name: str, source: str, loader, path, out_dir, *, resolution, resize_filter, split,
                      download, count, seed, num_classes, dataset, standin_for, meta) -> Path:
    """Shared body of the torchvision-style labelled sets: load, subset, apply the label policy, write."""
    images, labels = loader(path, split=split, download=download)
    pick = subset_indices(len(images), count, seed, f"{name} at {path}")
    labs, n_cls = label_policy(labels[pick], 10, num_classes, f"{name} at {path}")
    return _write(out_dir, images[pick], labs, n_cls, resolution=resolution, resize_filter=resize_filter,
                  dataset=dataset, source=f"{source}:{path}", standin_for=standin_for,
                  meta={"split": split, **(meta or {})})


def prepare_cifar10(path, out_dir, *, resolution: int | None = 32, resize_filter: str = "lanczos",
                    split: str = "train", download: bool = False, count: int | None = None, seed: int = 0,
                    num_classes: int | None = None, dataset: str | None = None, standin_for: str | None = None,
                    meta: dict[str, Any] | None = None) -> Path:
    return _prepare_labelled("CIFAR-10", "cifar10", load_cifar10, path, out_dir, resolution=resolution,
                             resize_filter=resize_filter, split=split, download=download, count=count, seed=seed,
                             num_classes=num_classes, dataset=dataset, standin_for=standin_for, meta=meta)


def prepare_mnist(path, out_dir, *, resolution: int | None = 28, resize_filter: str = "lanczos",
                  split: str = "train", download: bool = False, count: int | None = None, seed: int = 0,
                  num_classes: int | None = None, dataset: str | None = None, standin_for: str | None = None,
                  meta: dict[str, Any] | None = None) -> Path:
    return _prepare_labelled("MNIST", "mnist", load_mnist, path, out_dir, resolution=resolution,
                             resize_filter=resize_filter, split=split, download=download, count=count, seed=seed,
                             num_classes=num_classes, dataset=dataset, standin_for=standin_for, meta=meta)


def prepare_stackedmnist(path, out_dir, *, resolution: int | None = 32, resize_filter: str = "bilinear",
                         download: bool = False, count: int | None = None, seed: int = 0,
                         num_classes: int | None = None, dataset: str | None = None,
                         standin_for: str | None = None, meta: dict[str, Any] | None = None) -> Path:
    """StackedMNIST from the MNIST training digits (see the module docstring)."""
    if num_classes not in (None, 0, 1000):
        raise DatasetError(f"StackedMNIST has 1000 modes: num_classes must be 1000, 0 (unlabelled) or "
                           f"unset, got {num_classes}")
    digits, digit_labels = load_mnist(path, split="train", download=download)
    digits = pad_to_32(digits)
    if resolution is not None and resolution != 32:
        digits = resize_uint8(digits, int(resolution), resize_filter)
    images, stacked = stack_digits(digits, digit_labels, count=count or len(digits), seed=seed)
    modes = stacked @ np.array([100, 10, 1], dtype=np.int64)
    labels = None if num_classes == 0 else modes
    return write_archive(out_dir, images, labels, dataset=dataset or Path(out_dir).name,
                         source=f"stackedmnist:{path}", standin_for=standin_for,
                         resize_filter=resize_filter if resolution not in (None, 32) else None,
                         extra_arrays={"digit_labels": stacked},
                         meta={"digits": "MNIST train, zero-padded 28->32", "num_modes": 1000, **(meta or {})},
                         num_classes=0 if labels is None else 1000)
