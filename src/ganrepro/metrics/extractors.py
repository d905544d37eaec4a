"""Feature extractors for FID / KID / precision-recall: names, torch-fidelity registration, spec resolution.

Three extractors:

* ``ganrepro-cnn``: the small CNN (:class:`~ganrepro.metrics.feature_cnn.FeatureCNN`) the pipeline trains
  itself on the labels of an embedded dataset (:func:`~ganrepro.metrics.train_instruments.train_feature_extractor`).
  Its 128-d penultimate layer plays the role Inception's pool3 plays for FID. Metric names built on it carry its
  tag (``<dataset>_cnn``), never a bare ``fid``: the numbers are not comparable with Inception FIDs.
* ``inception-v3-compat``: torch-fidelity's TF-compatible Inception-v3. Its weights must already be on disk
  (this pipeline never downloads); :func:`~ganrepro.metrics.weights.resolve_inception_weights` finds them or
  raises :class:`~ganrepro.errors.WeightsError` naming the exact path to put the file at.
* ``vgg16``: torchvision's VGG16 (StyleGAN-style precision/recall), weights likewise found on disk.

``ganrepro-cnn`` is registered in torch-fidelity by :func:`register_extractors`; torch-fidelity's
``feature_extractor_weights_path`` then selects the trained checkpoint. :func:`resolve_extractor` turns a
params spec into the name, weights, tag and feature layers :func:`~ganrepro.metrics.fidelity.compute_fidelity`
passes on.

Images everywhere are uint8 ``[N, C, H, W]`` with C = 1 or 3; grayscale is repeated to 3 channels.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping

import torch

from ganrepro.errors import WeightsError
from ganrepro.metrics.checkpoints import load_feature_cnn
from ganrepro.metrics.feature_cnn import CNN_DEFAULT_LAYER, CNN_FEATURES
from ganrepro.metrics.train_instruments import train_feature_extractor  # noqa: F401 (stages/prepare.py imports it here)
from ganrepro.metrics.weights import file_sha256, resolve_inception_weights, resolve_vgg16_weights

CNN_EXTRACTOR_NAME = "ganrepro-cnn"
INCEPTION_EXTRACTOR_NAME = "inception-v3-compat"
VGG16_EXTRACTOR_NAME = "vgg16"


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
