"""Training of the pipeline's own metric instruments: the generic classifier fit and the feature CNN.

:func:`fit_classifier` (Adam + cross-entropy with a seeded held-out split) trains both the feature CNN
(:func:`train_feature_extractor`, here) and the StackedMNIST digit classifier
(:func:`ganrepro.metrics.modes.train_digit_classifier`). Deterministic for a seed on CPU.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.errors import DatasetError
from ganrepro.metrics.checkpoints import save_trained_classifier
from ganrepro.metrics.feature_cnn import CNN_FORMAT, FeatureCNN
from ganrepro.metrics.images import as_uint8_images


def heldout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train indices, held-out indices)`` of ``n`` items: a seeded permutation, at least one
    item on each side (``round(n * fraction)`` held out otherwise)."""
    if n < 4:
        raise DatasetError(f"need at least 4 labelled images to train a classifier, got {n}")
    n_held = min(max(1, int(round(n * fraction))), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_held:]), np.sort(perm[:n_held])


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Fraction of ``x`` whose argmax logit equals ``y`` (model put in eval mode)."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += (model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum().item()
    return correct / max(1, len(x))


def fit_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    seed: int,
    epochs: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    heldout_fraction: float = 0.1,
    device: str = "cpu",
) -> dict:
    """Train ``model`` (already initialised) with Adam + cross-entropy on prepared float inputs ``x``.

    Deterministic for a seed on CPU: the held-out split, the batch order and dropout-free training all
    derive from ``seed``. Returns training statistics, including held-out accuracy.
    """
    t0 = time.perf_counter()
    train_idx, held_idx = heldout_split(len(x), heldout_fraction, seed)
    x_tr, y_tr = x[train_idx].to(device), y[train_idx].to(device)
    x_he, y_he = x[held_idx].to(device), y[held_idx].to(device)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(int(epochs)):
        model.train()
        order = torch.randperm(len(x_tr), generator=gen).to(device)
        total, count = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        losses.append(total / max(1, count))
    model.eval()
    return {
        "seed": int(seed),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "num_train": int(len(train_idx)),
        "num_heldout": int(len(held_idx)),
        "loss_per_epoch": [round(v, 6) for v in losses],
        "train_accuracy": accuracy(model, x_tr, y_tr),
        "heldout_accuracy": accuracy(model, x_he, y_he),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def check_labels(images: torch.Tensor, labels: Any, num_classes: int | None) -> tuple[torch.Tensor, int]:
    """Class labels -> ``(int64 [N], number of classes)``; :class:`DatasetError` unless one label in
    ``[0, num_classes)`` per image (``num_classes`` defaults to ``max + 1``, at least 2)."""
    y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    if y.dim() != 1 or len(y) != len(images):
        raise DatasetError(f"labels must be int [N] matching {len(images)} images, got shape {tuple(y.shape)}")
    if len(y) and int(y.min()) < 0:
        raise DatasetError(
            "the classifier needs class labels but some are -1 (unlabelled dataset); "
            "train it on a labelled instrument dataset (params/datasets.yaml: instruments)"
        )
    k = int(num_classes) if num_classes is not None else int(y.max()) + 1
    if k < 2 or int(y.max()) >= k:
        raise DatasetError(f"labels must lie in [0, {k}) with at least 2 classes, got max {int(y.max())}")
    return y, k


def train_feature_extractor(
    images: Any,
    labels: Any,
    *,
    seed: int,
    epochs: int,
    out_path: str | os.PathLike,
    dataset: str = "shapes",
    tag: str | None = None,
    num_classes: int | None = None,
    width: int = 32,
    feature_dim: int = 128,
    batch_size: int = 32,
    lr: float = 2e-3,
    heldout_fraction: float = 0.1,
    device: str = "cpu",
) -> dict:
    """Train :class:`FeatureCNN` on labelled uint8 images ``[N, C, H, W]`` and save it to ``out_path``.

    The checkpoint holds the weights, the architecture and metadata (dataset, resolution, tag, held-out
    accuracy, training stats, provenance). Returns the metadata dict (``heldout_accuracy`` among it).
    """
    x8 = as_uint8_images(images)
    y, k = check_labels(x8, labels, num_classes)
    if x8.shape[-1] != x8.shape[-2]:
        raise DatasetError(f"feature extractor expects square images, got {tuple(x8.shape[-2:])}")
    resolution = int(x8.shape[-1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FeatureCNN(k, resolution=resolution, width=width, feature_dim=feature_dim)
        x = model.prepare(x8)
        stats = fit_classifier(
            model, x, y, seed=seed, epochs=epochs, batch_size=batch_size, lr=lr,
            heldout_fraction=heldout_fraction, device=device,
        )
        model.cpu()
        stats["feature_scale"] = model.calibrate_feature_scale(x)
    return save_trained_classifier(out_path, model, CNN_FORMAT, dataset=dataset, tag=tag, resolution=resolution,
                                   x8=x8, num_classes=k, stats=stats, seed_name="extractor", seed=seed,
                                   device=device, source_channels=int(x8.shape[1]))
