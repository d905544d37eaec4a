"""StackedMNIST stand-in built from scikit-learn's bundled 8x8 digits (no download).

``sklearn.datasets.load_digits`` ships 1797 8x8 greyscale digits (16 grey levels, values 0..16)
inside the scikit-learn wheel. They are split once, by a fixed seed and per digit class, into a
``train`` half (what the stacked training images are drawn from) and a ``holdout`` half (for
evaluating the mode-counting digit classifier on digits it was not trained on).

A stacked sample is three independent uniform draws from the train half, used as the R, G, B
channels; its mode label is ``100 * d_R + 10 * d_G + d_B`` (1000 modes). Digits are upsampled from
8x8 to the target resolution with PIL's bilinear filter on the 0..16 values (mode "F", no
quantisation before resizing), then scaled to 0..255 and rounded to uint8.
"""

from __future__ import annotations

import functools

import numpy as np

from ganrepro.data.embedded.generated import Generated
from ganrepro.data.resize import resize_float
from ganrepro.errors import DatasetError

SPLIT_SEED = 20_251_021
SPLITS = ("train", "holdout", "all")
NUM_MODES = 1000


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32)  # [1797, 8, 8], values 0..16
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    train, holdout = [], []
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(labels == d))
        half = (len(idx) + 1) // 2
        train.append(idx[:half])
        holdout.append(idx[half:])
    split = {"train": np.sort(np.concatenate(train)), "holdout": np.sort(np.concatenate(holdout)),
             "all": np.arange(len(labels))}
    return images, labels, split


@functools.lru_cache(maxsize=8)
def digit_images(resolution: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Single digits of one split: (uint8 [n, 1, R, R], int64 labels [n]); read-only, cached."""
    if split not in SPLITS:
        raise DatasetError(f"unknown digit split {split!r}; use one of {list(SPLITS)}")
    if not 4 <= int(resolution) <= 1024:
        raise DatasetError(f"digit resolution must be in [4, 1024], got {resolution}")
    images, labels, splits = _raw_digits()
    idx = splits[split]
    src = images[idx]
    up = resize_float(src, int(resolution), "bilinear") if resolution != 8 else src
    out = np.clip(np.rint(up * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None]
    lab = labels[idx].copy()
    out.setflags(write=False)
    lab.setflags(write=False)
    return out, lab


def make_stacked_digits(*, count: int, resolution: int, seed: int, num_classes: int | None = None) -> Generated:
    """``count`` stacked samples: images uint8 [N,3,R,R], mode labels, ``digit_labels`` int64 [N,3].

    ``num_classes`` None or 1000: labels are the 1000 mode indices; 0: unlabelled (labels -1;
    the modes stay recoverable from ``digit_labels``).
    """
    if num_classes not in (None, 0, NUM_MODES):
        raise DatasetError(f"stacked_digits has {NUM_MODES} modes: num_classes must be 1000 (mode labels) "
                           f"or 0 (unlabelled), got {num_classes}")
    bank, bank_labels = digit_images(resolution, "train")
    rng = np.random.default_rng([int(seed), 0x5D1617])
    draw = rng.integers(0, len(bank), size=(int(count), 3))
    images = bank[draw][:, :, 0]  # [N, 3, R, R]
    digits = bank_labels[draw].astype(np.int64)  # [N, 3]
    modes = digits @ np.array([100, 10, 1], dtype=np.int64)
    labels = None if num_classes == 0 else modes
    meta = {"generator": "stacked_digits", "digit_source": "sklearn.datasets.load_digits (8x8)",
            "digit_split": "train", "split_seed": SPLIT_SEED, "upsampling": "PIL bilinear on 0..16 values",
            "num_modes": NUM_MODES}
    return Generated(images=images, labels=labels, num_classes=NUM_MODES if labels is not None else 0,
                     extra_arrays={"digit_labels": digits}, meta=meta,
                     resize_filter="bilinear" if resolution != 8 else None)
