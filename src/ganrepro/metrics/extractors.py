"""Feature extractors for FID / KID / precision-recall.

Two routes:

* ``ganrepro-cnn``: a small CNN classifier (:class:`FeatureCNN`) that the pipeline trains itself on the
  labels of an embedded dataset (:func:`train_feature_extractor`). Its 128-d penultimate layer plays the
  role Inception's pool3 plays for FID. Metric names built on it carry its tag (``<dataset>_cnn``), never a
  bare ``fid``: the numbers are not comparable with Inception FIDs.
* ``inception-v3-compat``: torch-fidelity's TF-compatible Inception-v3. Its weights must already be on disk
  (this pipeline never downloads); :func:`resolve_inception_weights` finds them or raises
  :class:`~ganrepro.errors.WeightsError` naming the exact path to put the file at.

Both are registered in torch-fidelity (:func:`register_extractors`); for ``ganrepro-cnn`` torch-fidelity's
``feature_extractor_weights_path`` selects the trained checkpoint.

Images everywhere are uint8 ``[N, C, H, W]`` with C = 1 or 3. Grayscale images are repeated to 3 channels
(:func:`to_rgb`) both when the CNN is trained and when features are extracted, so the extractor always
sees the same kind of input.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.errors import DatasetError, WeightsError
from ganrepro.provenance import provenance
from ganrepro.utils_io import atomic_write

CNN_EXTRACTOR_NAME = "ganrepro-cnn"
INCEPTION_EXTRACTOR_NAME = "inception-v3-compat"
VGG16_EXTRACTOR_NAME = "vgg16"

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILE
)
VGG16_WEIGHTS_FILE = "vgg16-397923af.pth"
VGG16_WEIGHTS_URL = "https://download.pytorch.org/models/" + VGG16_WEIGHTS_FILE

CNN_FORMAT = "ganrepro.feature_cnn.v1"
CNN_FEATURES = ("pool", "penultimate", "logits")
CNN_DEFAULT_LAYER = "penultimate"


# --------------------------------------------------------------------------------------------------
# image helpers


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """``[B, 1|3, H, W]`` -> ``[B, 3, H, W]`` (grayscale repeated), any dtype."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images [B, 1|3, H, W], got shape {tuple(x.shape)}")
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def normalize_uint8(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """uint8 ``[B, C, H, W]`` -> float32 in [-1, 1], resized (bilinear, antialiased) to ``resolution``."""
    x = x.to(torch.float32) / 127.5 - 1.0
    if x.shape[-2:] != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True)
    return x


def _as_uint8_tensor(images: Any) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
    if t.dtype != torch.uint8 or t.dim() != 4 or t.shape[1] not in (1, 3):
        raise DatasetError(
            f"expected uint8 images [N, 1|3, H, W], got dtype {t.dtype} shape {tuple(t.shape)}; "
            "convert generator output with (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)"
        )
    return t


# --------------------------------------------------------------------------------------------------
# networks


class FeatureCNN(nn.Module):
    """Small image classifier whose penultimate layer is the FID feature space.

    conv3x3(w) -> conv3x3/2(2w) -> conv3x3/2(4w) -> conv3x3(4w), LeakyReLU(0.2) after each (no BatchNorm:
    it is ~10x slower on CPU here and makes eval-mode features depend on running statistics)
    -> global mean and max pool, concatenated (``pool``, 8w-d; max pooling lets shape detectors train
    in a few hundred steps) -> Linear(feature_dim) + ReLU (``penultimate``, divided by the fixed
    ``feature_scale``) -> Linear(num_classes) (``logits``).
    Works at any resolution >= 4; inputs are resized to ``resolution`` (the training resolution).
    """

    def __init__(self, num_classes: int, *, resolution: int, width: int = 32, feature_dim: int = 128):
        super().__init__()
        self.num_classes = int(num_classes)
        self.resolution = int(resolution)
        self.width = int(width)
        self.feature_dim = int(feature_dim)
        w = self.width

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.LeakyReLU(0.2)]

        self.body = nn.Sequential(
            *block(3, w, 1), *block(w, 2 * w, 2), *block(2 * w, 4 * w, 2), *block(4 * w, 4 * w, 1)
        )
        self.fc = nn.Linear(8 * w, self.feature_dim)
        self.head = nn.Linear(self.feature_dim, self.num_classes)
        # ``penultimate`` is divided by this fixed scalar, set after training so that the features have
        # RMS 1 on the training set (see calibrate_feature_scale): FID/KID values then do not depend on the
        # arbitrary activation scale a training run ends at, and KID's cubic kernel (gamma = 1/dim) works in
        # the O(1) regime it was designed for (as with Inception pool3 features).
        self.register_buffer("feature_scale", torch.ones(()))

    def arch(self) -> dict:
        return {
            "class": "FeatureCNN",
            "num_classes": self.num_classes,
            "resolution": self.resolution,
            "width": self.width,
            "feature_dim": self.feature_dim,
        }

    def prepare(self, x_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, 1|3, H, W]`` -> the float input the network was trained on."""
        return normalize_uint8(to_rgb(x_uint8), self.resolution)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(x)
        pool = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        pen = F.relu(self.fc(pool))
        return {"pool": pool, "penultimate": pen / self.feature_scale, "logits": self.head(pen)}

    @torch.no_grad()
    def calibrate_feature_scale(self, x: torch.Tensor, batch_size: int = 512) -> float:
        """Set ``feature_scale`` to the RMS of the raw penultimate activations over prepared inputs ``x``."""
        self.eval()
        self.feature_scale.fill_(1.0)
        total, count = 0.0, 0
        for i in range(0, len(x), batch_size):
            pen = self.features(x[i : i + batch_size])["penultimate"].double()
            total += pen.pow(2).sum().item()
            count += pen.numel()
        rms = (total / max(1, count)) ** 0.5
        self.feature_scale.fill_(rms if rms > 1e-12 else 1.0)
        return float(self.feature_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)["logits"]


# --------------------------------------------------------------------------------------------------
# training (shared with modes.py)


def _heldout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n < 4:
        raise DatasetError(f"need at least 4 labelled images to train a classifier, got {n}")
    n_held = min(max(1, int(round(n * fraction))), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_held:]), np.sort(perm[:n_held])


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
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
    train_idx, held_idx = _heldout_split(len(x), heldout_fraction, seed)
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
        "train_accuracy": _accuracy(model, x_tr, y_tr),
        "heldout_accuracy": _accuracy(model, x_he, y_he),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _check_labels(images: torch.Tensor, labels: Any, num_classes: int | None) -> tuple[torch.Tensor, int]:
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


def save_checkpoint(out_path: str | os.PathLike, obj: dict) -> Path:
    return atomic_write(out_path, lambda p: torch.save(obj, p))


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
    x8 = _as_uint8_tensor(images)
    y, k = _check_labels(x8, labels, num_classes)
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


def save_trained_classifier(out_path, model: nn.Module, fmt: str, *, dataset: str, tag: str | None,
                            resolution: int, x8: torch.Tensor, num_classes: int, stats: dict, seed_name: str,
                            seed: int, device: str, **extra) -> dict:
    """Write a trained instrument (feature CNN or digit classifier) with its metadata; return the metadata."""
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


def load_feature_cnn(path: str | os.PathLike) -> tuple[FeatureCNN, dict]:
    """Load a checkpoint written by :func:`train_feature_extractor` -> ``(model in eval mode, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"feature-extractor checkpoint {path} not found; train it first "
            "(ganrepro.metrics.train_feature_extractor / the pipeline's extractor stage)"
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CNN_FORMAT:
        raise WeightsError(f"{path} is not a ganrepro feature-CNN checkpoint (format {CNN_FORMAT!r}); retrain it")
    arch = dict(ckpt["arch"])
    arch.pop("class", None)
    model = FeatureCNN(arch.pop("num_classes"), **arch)
    model.load_state_dict(ckpt["state_dict"])
    model.eval().requires_grad_(False)
    return model, dict(ckpt["meta"])


# --------------------------------------------------------------------------------------------------
# weights files


@functools.lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def hub_checkpoint_path(filename: str) -> Path:
    """Where torch hub keeps ``filename``: ``$TORCH_HOME/hub/checkpoints/filename``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _resolve_pretrained(
    weights: str | os.PathLike | None, filename: str, url: str, what: str, expected_sha_prefix: str
) -> Path:
    default = hub_checkpoint_path(filename)
    hint = (
        f"This machine cannot download it. Fetch {url} elsewhere and copy it to {default} "
        f"(i.e. $TORCH_HOME/hub/checkpoints/{filename}), or pass its path as the extractor's 'weights'. "
        "Without it, use the pipeline's own CNN extractor (params scale: extractor.kind: cnn)."
    )
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsError(f"{what} weights file {path} does not exist. {hint}")
    else:
        path = default
        if not path.is_file():
            raise WeightsError(f"{what} weights not found at {path}. {hint}")
    sha = file_sha256(path)
    if not sha.startswith(expected_sha_prefix):
        raise WeightsError(
            f"{what} weights {path} have sha256 {sha[:16]}..., expected a hash starting with "
            f"{expected_sha_prefix} ({filename}); the file is corrupt or a different model. {hint}"
        )
    return path


def resolve_inception_weights(weights: str | os.PathLike | None = None) -> Path:
    """The Inception-v3 (TF FID) weights: ``weights`` if given, else ``$TORCH_HOME/hub/checkpoints/...``.

    Raises :class:`WeightsError` naming the exact path to put the file at. Never downloads.
    """
    return _resolve_pretrained(weights, INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, "Inception-v3 (FID)", "6726825d")


def resolve_vgg16_weights(weights: str | os.PathLike | None = None) -> Path:
    """torchvision VGG16 ImageNet weights (for StyleGAN-style precision/recall); never downloads."""
    return _resolve_pretrained(weights, VGG16_WEIGHTS_FILE, VGG16_WEIGHTS_URL, "VGG16 (precision/recall)", "397923af")


# --------------------------------------------------------------------------------------------------
# torch-fidelity registration and extractor specs


@functools.lru_cache(maxsize=1)
def _fidelity_cnn_class():
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.helpers import vassert

    class TorchFidelityFeatureCNN(FeatureExtractorBase):
        """torch-fidelity adapter: uint8 ``[B, 3, H, W]`` -> features of a trained :class:`FeatureCNN`."""

        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            if feature_extractor_weights_path is None:
                raise WeightsError(
                    f"torch-fidelity extractor {CNN_EXTRACTOR_NAME!r} needs feature_extractor_weights_path "
                    "= a checkpoint written by ganrepro.metrics.train_feature_extractor"
                )
            self.net, self.meta = load_feature_cnn(feature_extractor_weights_path)
            self.requires_grad_(False)
            self.eval()

        def forward(self, x):
            vassert(torch.is_tensor(x) and x.dtype == torch.uint8, "Expecting uint8 images")
            vassert(x.dim() == 4 and x.shape[1] in (1, 3), f"Input is not Bx3xHxW: {tuple(x.shape)}")
            feats = self.net.features(self.net.prepare(x))
            return tuple(feats[name].to(torch.float32) for name in self.features_list)

        @staticmethod
        def get_provided_features_list():
            return CNN_FEATURES

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            layer = CNN_DEFAULT_LAYER
            return {"isc": "logits", "fid": layer, "kid": layer, "prc": layer}[metric]

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

    return TorchFidelityFeatureCNN


def register_extractors() -> None:
    """Register ``ganrepro-cnn`` with torch-fidelity (idempotent)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if CNN_EXTRACTOR_NAME not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(CNN_EXTRACTOR_NAME, _fidelity_cnn_class())


_ALIASES = {
    "cnn": CNN_EXTRACTOR_NAME,
    CNN_EXTRACTOR_NAME: CNN_EXTRACTOR_NAME,
    "inception": INCEPTION_EXTRACTOR_NAME,
    INCEPTION_EXTRACTOR_NAME: INCEPTION_EXTRACTOR_NAME,
    "vgg16": VGG16_EXTRACTOR_NAME,
}
_DEFAULT_LAYERS = {
    CNN_EXTRACTOR_NAME: {"fid": CNN_DEFAULT_LAYER, "kid": CNN_DEFAULT_LAYER, "pr": CNN_DEFAULT_LAYER, "is": "logits"},
    INCEPTION_EXTRACTOR_NAME: {"fid": "2048", "kid": "2048", "pr": "2048", "is": "logits_unbiased"},
    VGG16_EXTRACTOR_NAME: {"fid": "fc2_relu", "kid": "fc2_relu", "pr": "fc2_relu", "is": "fc2"},
}


def resolve_extractor(spec: Mapping[str, Any] | str) -> dict:
    """Normalise an extractor spec and check its weights exist (no network access, ever).

    ``spec``: ``{"name"|"kind": "cnn" | "ganrepro-cnn" | "inception" | "inception-v3-compat" | "vgg16",
    "weights": path or None, "tag": optional name suffix for metrics, "layer": optional feature layer}``.
    Returns ``{"name", "weights", "weights_sha256", "tag", "layers": {metric: layer}, "meta"}``.
    """
    if isinstance(spec, str):
        spec = {"name": spec}
    raw = spec.get("name") or spec.get("kind")
    name = _ALIASES.get(str(raw))
    if name is None:
        raise WeightsError(f"unknown feature extractor {raw!r}; use one of {sorted(set(_ALIASES))}")
    meta: dict = {}
    if name == CNN_EXTRACTOR_NAME:
        if not spec.get("weights"):
            raise WeightsError("the 'cnn' extractor needs 'weights': the checkpoint from train_feature_extractor")
        weights = Path(spec["weights"])
        _, meta = load_feature_cnn(weights)
        meta = {k: meta[k] for k in ("dataset", "tag", "resolution", "num_classes", "heldout_accuracy") if k in meta}
        tag = spec.get("tag") or meta.get("tag") or f"{meta.get('dataset', 'custom')}_cnn"
    elif name == INCEPTION_EXTRACTOR_NAME:
        weights = resolve_inception_weights(spec.get("weights"))
        tag = spec.get("tag") or "inception"
    else:
        weights = resolve_vgg16_weights(spec.get("weights"))
        tag = spec.get("tag") or "vgg16"
    layers = dict(_DEFAULT_LAYERS[name])
    if spec.get("layer"):
        layers.update({m: spec["layer"] for m in ("fid", "kid", "pr")})
    return {
        "name": name,
        "weights": str(weights),
        "weights_sha256": file_sha256(weights),
        "tag": str(tag),
        "layers": layers,
        "meta": meta,
    }
