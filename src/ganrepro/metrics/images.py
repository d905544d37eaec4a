"""uint8 image inputs of the metric instruments: validation, grey -> RGB, normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganrepro.errors import DatasetError


def as_uint8_images(images: Any) -> torch.Tensor:
    """Array or tensor -> uint8 tensor ``[N, 1|3, H, W]`` (no copy for a tensor); else :class:`DatasetError`."""
    t = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
    if t.dtype != torch.uint8 or t.dim() != 4 or t.shape[1] not in (1, 3):
        raise DatasetError(
            f"expected uint8 images [N, 1|3, H, W], got dtype {t.dtype} shape {tuple(t.shape)}; "
            "convert generator output with (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)"
        )
    return t


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
