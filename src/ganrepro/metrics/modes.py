"""StackedMNIST mode counting (R3GAN Table: modes covered and reverse KL).

A StackedMNIST image stacks three digit images as its R, G, B channels; its mode is
``100 * digit(R) + 10 * digit(G) + digit(B)`` (1000 modes). The pipeline trains its own single-channel
:class:`DigitClassifier` (:func:`train_digit_classifier`), classifies every channel of every generated image
(:func:`classify_stacked`) and reports (:func:`mode_stats`):

* ``modes``: how many of the 1000 modes at least one generated image falls into;
* ``reverse_kl``: KL(p_gen || uniform) over the generated mode histogram,
  ``sum_i p_i * log(p_i * num_modes)`` with ``0 log 0 = 0`` (natural log). 0 for a perfectly balanced
  sample, ``log(num_modes)`` when every sample hits one mode.

Metric names (:func:`compute_modes`): ``modes{N}-{tag}`` and ``reverse_kl{N}-{tag}``, e.g.
``modes26k-digits_cnn``.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.errors import DatasetError
from ganrepro.metrics.checkpoints import load_trained_classifier, save_trained_classifier
from ganrepro.metrics.names import metric_name
from ganrepro.metrics.images import as_uint8_images, normalize_uint8
from ganrepro.metrics.train_instruments import check_labels, fit_classifier
from ganrepro.provenance import provenance

DIGIT_FORMAT = "ganrepro.digit_classifier.v1"


class DigitClassifier(nn.Module):
    """MNIST-style net: 2 x (conv3x3 + ReLU + maxpool2) -> FC(128) + ReLU -> FC(num_classes).

    Single-channel input; uint8 images are resized to ``resolution`` (the training resolution, a multiple
    of 4) by :meth:`prepare`.
    """

    def __init__(self, *, resolution: int, num_classes: int = 10, width: int = 32):
        super().__init__()
        if resolution < 4 or resolution % 4:
            raise ValueError(f"DigitClassifier resolution must be a multiple of 4, got {resolution}")
        self.resolution, self.num_classes, self.width = int(resolution), int(num_classes), int(width)
        w = self.width
        self.conv1 = nn.Conv2d(1, w, 3, padding=1)
        self.conv2 = nn.Conv2d(w, 2 * w, 3, padding=1)
        self.fc1 = nn.Linear(2 * w * (self.resolution // 4) ** 2, 128)
        self.fc2 = nn.Linear(128, self.num_classes)
        self.meta: dict = {}

    def arch(self) -> dict:
        return {"class": "DigitClassifier", "resolution": self.resolution, "num_classes": self.num_classes,
                "width": self.width}

    def prepare(self, x_uint8: torch.Tensor) -> torch.Tensor:
        if x_uint8.dim() != 4 or x_uint8.shape[1] != 1:
            raise ValueError(f"DigitClassifier expects single-channel images [B, 1, H, W], got {tuple(x_uint8.shape)}")
        return normalize_uint8(x_uint8, self.resolution)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))

    @torch.no_grad()
    def predict(self, x_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, 1, H, W]`` -> int64 digit labels ``[B]``."""
        self.eval()
        dev = next(self.parameters()).device
        return self(self.prepare(x_uint8.to(dev))).argmax(1).cpu()


def train_digit_classifier(
    images: Any,
    labels: Any,
    *,
    seed: int,
    epochs: int,
    out_path: str | os.PathLike,
    dataset: str = "digits",
    tag: str | None = None,
    width: int = 32,
    batch_size: int = 32,
    lr: float = 2e-3,
    heldout_fraction: float = 0.1,
    device: str = "cpu",
) -> dict:
    """Train :class:`DigitClassifier` on uint8 digits ``[N, 1, H, W]`` with labels 0..9; save to ``out_path``.

    Deterministic for a seed on CPU. Returns metadata with ``heldout_accuracy`` and training stats.
    """
    x8 = as_uint8_images(images)
    if x8.shape[1] != 1:
        raise DatasetError(f"digit classifier trains on single-channel digits [N, 1, H, W], got {tuple(x8.shape)}")
    y, k = check_labels(x8, labels, 10)
    resolution = int(x8.shape[-1])
    resolution += (-resolution) % 4
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier(resolution=resolution, num_classes=k, width=width)
        stats = fit_classifier(
            model, model.prepare(x8), y, seed=seed, epochs=epochs, batch_size=batch_size, lr=lr,
            heldout_fraction=heldout_fraction, device=device,
        )
    model.cpu()
    return save_trained_classifier(out_path, model, DIGIT_FORMAT, dataset=dataset, tag=tag, resolution=resolution,
                                   x8=x8, num_classes=k, stats=stats, seed_name="digit_classifier", seed=seed,
                                   device=device)


def load_digit_classifier(path: str | os.PathLike) -> DigitClassifier:
    """Load a checkpoint from :func:`train_digit_classifier` (eval mode; ``.meta`` holds its metadata)."""
    model, meta = load_trained_classifier(
        path, DIGIT_FORMAT, DigitClassifier, what="digit-classifier", how_to_train="train_digit_classifier"
    )
    model.meta = meta
    return model


def _predict(classifier: DigitClassifier | Callable, x: torch.Tensor) -> np.ndarray:
    if isinstance(classifier, DigitClassifier):
        pred = classifier.predict(x)
    else:
        with torch.no_grad():
            pred = classifier(x)
        pred = torch.as_tensor(np.asarray(pred) if not torch.is_tensor(pred) else pred)
        if pred.dim() == 2:
            pred = pred.argmax(1)
    pred = pred.detach().cpu().numpy().astype(np.int64).reshape(-1)
    if len(pred) != len(x) or (len(pred) and (pred.min() < 0 or pred.max() > 9)):
        raise ValueError("digit classifier must return one label in 0..9 (or 10 logits) per image")
    return pred


def classify_stacked(classifier: DigitClassifier | Callable, images: Any, *, batch_size: int = 1024) -> np.ndarray:
    """Mode id ``100*r + 10*g + b`` of uint8 StackedMNIST images ``[N, 3, H, W]`` -> int64 ``[N]``.

    Each channel is classified on its own as a single-channel digit. ``classifier`` is a
    :class:`DigitClassifier` or any callable mapping uint8 ``[B, 1, H, W]`` to labels ``[B]`` or logits
    ``[B, 10]``.
    """
    x = as_uint8_images(images)
    if x.shape[1] != 3:
        raise DatasetError(f"StackedMNIST images must have 3 channels, got {tuple(x.shape)}")
    out = np.empty(len(x), dtype=np.int64)
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        r, g, b = (_predict(classifier, xb[:, c : c + 1].contiguous()) for c in range(3))
        out[i : i + len(xb)] = 100 * r + 10 * g + b
    return out


def mode_stats(mode_ids: Any, num_modes: int = 1000) -> dict:
    """``{"modes": modes hit, "reverse_kl": KL(p_gen || uniform), "num_samples", "num_modes"}``.

    reverse_kl = sum_i p_i log(p_i * num_modes) over the generated histogram p (0 log 0 = 0, natural log).
    """
    ids = np.asarray(mode_ids, dtype=np.int64).reshape(-1)
    if ids.size == 0:
        raise ValueError("mode_stats needs at least one sample")
    if ids.min() < 0 or ids.max() >= num_modes:
        raise ValueError(f"mode ids must lie in [0, {num_modes})")
    counts = np.bincount(ids, minlength=num_modes).astype(np.float64)
    n = float(ids.size)
    hit = counts > 0
    p = counts[hit] / n
    # log(p * K) computed as log(count * K / n): exact 0 for a perfectly balanced sample
    kl = float(np.sum(p * np.log(counts[hit] * num_modes / n)))
    return {"modes": int(hit.sum()), "reverse_kl": max(kl, 0.0), "num_samples": int(ids.size),
            "num_modes": int(num_modes)}


def compute_modes(
    images: Any,
    classifier: DigitClassifier | Callable,
    *,
    num_modes: int = 1000,
    tag: str | None = None,
    seed: int | None = None,
) -> dict:
    """Mode metrics of generated StackedMNIST images -> ``{"modes{N}-{tag}": entry, "reverse_kl{N}-{tag}": entry}``."""
    ids = classify_stacked(classifier, images)
    st = mode_stats(ids, num_modes)
    meta = getattr(classifier, "meta", {}) or {}
    tag = tag or meta.get("tag") or "digits_cnn"
    base = {
        "num_fake": st["num_samples"],
        "num_modes": st["num_modes"],
        "seed": seed,
        "extractor": {"name": "digit-classifier", "tag": tag,
                      "meta": {k: meta[k] for k in ("dataset", "resolution", "heldout_accuracy") if k in meta}},
        "provenance": provenance(seeds={"modes": seed}),
    }
    return {
        metric_name("modes", st["num_samples"], tag): {"value": st["modes"], "metric": "modes", **base},
        metric_name("reverse_kl", st["num_samples"], tag): {"value": st["reverse_kl"], "metric": "reverse_kl", **base},
    }
