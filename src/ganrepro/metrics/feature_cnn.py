"""The pipeline's own FID feature network: a small CNN classifier whose penultimate layer is the feature space.

Metric names built on it carry its tag (``<dataset>_cnn``), never a bare ``fid``: its numbers are not
comparable with Inception FIDs. Trained by :func:`ganrepro.metrics.train_instruments.train_feature_extractor`,
saved and loaded by :mod:`ganrepro.metrics.checkpoints`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.metrics.images import normalize_uint8, to_rgb

CNN_FORMAT = "ganrepro.feature_cnn.v1"  # the checkpoint format tag
CNN_FEATURES = ("pool", "penultimate", "logits")
CNN_DEFAULT_LAYER = "penultimate"


class FeatureCNN(nn.Module):
    """Small image classifier whose penultimate layer is the FID feature space.

    conv3x3(w) -> conv3x3/2(2w) -> conv3x3/2(4w) -> conv3x3(4w), LeakyReLU(0.2) after each (no BatchNorm:
    it is ~10x slower on CPU here and makes eval-mode features depend on running statistics)
    -> global mean and max pool, concatenated (``pool``, 8w-d; max pooling lets shape detectors train
    in a few hundred steps) -> Linear(feature_dim) + ReLU (``penultimate``, divided by the fixed
    ``feature_scale``) -> Linear(num_classes) (``logits``).
    Works at any resolution >= 4; inputs are resized to ``resolution`` (the training resolution).
    Grayscale inputs are repeated to 3 channels (:meth:`prepare`), in training and in extraction alike.
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
