"""Checkpoint I/O of the pipeline-trained instruments (the feature CNN and the digit classifier).

A checkpoint is a ``torch.save`` dict ``{"format", "arch", "state_dict", "meta"}``: ``format`` names the
network kind, ``arch`` its constructor arguments (plus ``"class"``), ``meta`` the dataset, tag, resolution,
held-out accuracy, training statistics and provenance. Loading uses ``weights_only=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

import torch
import torch.nn as nn

from ganrepro.errors import WeightsError
from ganrepro.metrics.feature_cnn import CNN_FORMAT, FeatureCNN
from ganrepro.provenance import provenance
from ganrepro.utils_io import atomic_write

Net = TypeVar("Net", bound=nn.Module)


def save_checkpoint(out_path: str | os.PathLike, obj: dict) -> Path:
    """``torch.save`` ``obj`` to ``out_path`` atomically (no half-written file on a crash)."""
    return atomic_write(out_path, lambda p: torch.save(obj, p))


def save_trained_classifier(out_path, model: nn.Module, fmt: str, *, dataset: str, tag: str | None,
                            resolution: int, x8: torch.Tensor, num_classes: int, stats: dict, seed_name: str,
                            seed: int, device: str, **extra) -> dict:
    """Write a trained instrument (feature CNN or digit classifier) with its metadata; return the metadata.

    ``model`` must have ``arch()`` (its constructor arguments); ``stats`` is :func:`fit_classifier`'s result;
    ``extra`` keys are added to the metadata. The returned dict is the metadata plus ``out_path``.
    """
    meta = {
        "dataset": dataset,
        "tag": tag or f"{dataset}_cnn",
        "resolution": resolution,
        **extra,
        "num_images": int(len(x8)),
        "num_classes": num_classes,
        "heldout_accuracy": stats["heldout_accuracy"],
        "train": stats,
        "provenance": provenance(seeds={seed_name: int(seed)}, device=device),
    }
    ckpt = {"format": fmt, "arch": model.arch(), "state_dict": model.state_dict(), "meta": meta}
    save_checkpoint(out_path, ckpt)
    return {**meta, "out_path": str(out_path)}


def load_trained_classifier(
    path: str | os.PathLike, fmt: str, build: Callable[..., Net], *, what: str, how_to_train: str
) -> tuple[Net, dict]:
    """Load a checkpoint of format ``fmt`` -> ``(build(**arch) with its weights, in eval mode, meta)``.

    Raises :class:`WeightsError` when the file is missing (naming ``how_to_train``) or holds another format.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what} checkpoint {path} not found; train it first ({how_to_train})")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise WeightsError(f"{path} is not a ganrepro {what} checkpoint (format {fmt!r}); retrain it")
    arch = dict(ckpt["arch"])
    arch.pop("class", None)
    model = build(**arch)
    model.load_state_dict(ckpt["state_dict"])
    model.eval().requires_grad_(False)
    return model, dict(ckpt["meta"])


def load_feature_cnn(path: str | os.PathLike) -> tuple[FeatureCNN, dict]:
    """Load a checkpoint written by ``train_feature_extractor`` -> ``(model in eval mode, meta)``."""
    return load_trained_classifier(
        path, CNN_FORMAT, FeatureCNN, what="feature-CNN",
        how_to_train="ganrepro.metrics.train_feature_extractor / the pipeline's extractor stage",
    )
