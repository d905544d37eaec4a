"""Cutout: zero one axis-aligned square per sample."""

from __future__ import annotations

from typing import Mapping

import torch

from .draws import Draws


def sample_cutout(
    draws: Draws, mult: Mapping[str, float], p: float, masks: dict[str, torch.Tensor], *, size: float
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(centres [N, 2] uniform in [0, 1]^2, sides [N]: size where the gate passed, else 0)``, or None.

    None when the cutout multiplier is 0. The centre is drawn for every sample (gate passed or not).
    """
    if not mult["cutout"] > 0:
        return None
    n, dev = draws.n, draws.device
    center = draws.rand(n, 2)
    m = draws.gate(mult["cutout"] * float(p))
    masks["cutout"] = m
    return center, torch.where(m, torch.full((n,), size, device=dev), draws.zeros())


def apply_cutout(images: torch.Tensor, center: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """Zero a square of side ``size`` ``[N]`` (fraction of W and H) centred at ``center`` ``[N, 2]``.

    A pixel is kept when its centre is at least ``size/2`` away from the centre along x or along y
    (ADA's rule); ``size == 0`` keeps everything.
    """
    n, c, h, w = images.shape
    dev = images.device
    center = center.to(device=dev, dtype=torch.float32)
    half = (size.to(device=dev, dtype=torch.float32) / 2).view(n, 1, 1)
    xs = ((torch.arange(w, device=dev, dtype=torch.float32) + 0.5) / w).view(1, 1, w)
    ys = ((torch.arange(h, device=dev, dtype=torch.float32) + 0.5) / h).view(1, h, 1)
    keep = ((xs - center[:, 0].view(n, 1, 1)).abs() >= half) | (
        (ys - center[:, 1].view(n, 1, 1)).abs() >= half
    )
    return images * keep.unsqueeze(1).to(images.dtype)
