"""Colour transforms: brightness, contrast, luma flip, hue rotation, saturation (4x4 on RGB)."""

from __future__ import annotations

import math
from typing import Mapping

import torch

from .draws import Draws
from .matrices import eye, matmul

COLOR_TRANSFORMS = ("brightness", "contrast", "lumaflip", "hue", "saturation")
RGB_ONLY = ("hue", "saturation")  # the identity on the grey axis: skipped for 1-channel images

# Luma axis of the colour transforms (ADA: v = [1, 1, 1, 0] / sqrt(3)).
LUMA = 1.0 / math.sqrt(3.0)


def sample_color(
    draws: Draws,
    mult: Mapping[str, float],
    p: float,
    masks: dict[str, torch.Tensor],
    *,
    channels: int,
    brightness_std: float,
    contrast_std: float,
    hue_max: float,
    saturation_std: float,
) -> torch.Tensor | None:
    """Forward homogeneous RGB matrices ``[N, 4, 4]``, or None when no colour transform applies.

    Composed left to right as ADA does: brightness offset ``N(0, brightness_std)``, contrast
    ``2**N(0, contrast_std)``, luma flip (reflection about the grey plane, half the time), hue
    rotation ``U(+-hue_max * pi)`` about the luma axis, saturation ``2**N(0, saturation_std)``.
    Hue and saturation are skipped (no draws, no mask) unless ``channels == 3``.
    """
    rgb = channels == 3
    color_on = [k for k in COLOR_TRANSFORMS if mult[k] > 0 and (rgb or k not in RGB_ONLY)]
    if not color_on:
        return None
    n, dev, p = draws.n, draws.device, float(p)
    cm = eye(n, 4, dev)
    v = torch.tensor([LUMA, LUMA, LUMA, 0.0], device=dev)
    vv = torch.outer(v, v)
    eye4 = torch.eye(4, device=dev)
    if "brightness" in color_on:
        bright = draws.randn(n) * brightness_std
        m = draws.gate(mult["brightness"] * p)
        bright = torch.where(m, bright, draws.zeros())
        masks["brightness"] = m
        tr = eye(n, 4, dev)
        tr[:, :3, 3] = bright.unsqueeze(1)
        cm = matmul(tr, cm)
    if "contrast" in color_on:
        c = torch.exp2(draws.randn(n) * contrast_std)
        m = draws.gate(mult["contrast"] * p)
        c = torch.where(m, c, draws.ones())
        masks["contrast"] = m
        sc = eye(n, 4, dev)
        sc[:, 0, 0] = c
        sc[:, 1, 1] = c
        sc[:, 2, 2] = c
        cm = matmul(sc, cm)
    if "lumaflip" in color_on:
        flip = torch.floor(draws.rand(n) * 2)
        m = draws.gate(mult["lumaflip"] * p)
        flip = torch.where(m, flip, draws.zeros())
        masks["lumaflip"] = m
        cm = matmul((eye4 - 2 * vv * flip.view(n, 1, 1)), cm)
    if "hue" in color_on:
        theta = (draws.rand(n) * 2 - 1) * math.pi * hue_max
        m = draws.gate(mult["hue"] * p)
        theta = torch.where(m, theta, draws.zeros())
        masks["hue"] = m
        # Rodrigues rotation about the luma axis.
        cos, sin = torch.cos(theta).view(n, 1, 1), torch.sin(theta).view(n, 1, 1)
        a = LUMA
        cross = torch.tensor([[0, -a, a, 0], [a, 0, -a, 0], [-a, a, 0, 0], [0, 0, 0, 0]], device=dev)
        rot = vv + (eye4 - vv) * cos + cross * sin
        rot[:, 3, 3] = 1.0
        cm = matmul(rot, cm)
    if "saturation" in color_on:
        s = torch.exp2(draws.randn(n) * saturation_std)
        m = draws.gate(mult["saturation"] * p)
        s = torch.where(m, s, draws.ones())
        masks["saturation"] = m
        sat = vv + (eye4 - vv) * s.view(n, 1, 1)
        sat[:, 3, 3] = 1.0
        cm = matmul(sat, cm)
    return cm


def apply_color(images: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply homogeneous RGB matrices ``[N, 4, 4]`` elementwise (exact for the identity).

    1-channel images use ADA's projection: gain = mean over RGB rows of the row sums of the 3x3
    part, offset = mean of the translation column.
    """
    n, c, h, w = images.shape
    m = matrix.to(device=images.device, dtype=images.dtype)
    if c == 3:
        r, g, b = images[:, 0:1], images[:, 1:2], images[:, 2:3]
        rows = []
        for i in range(3):
            coef = m[:, i, :, None, None, None]  # [N, 4, 1, 1, 1]
            rows.append(coef[:, 0] * r + coef[:, 1] * g + coef[:, 2] * b + coef[:, 3])
        return torch.cat(rows, dim=1)
    if c == 1:
        rows3 = m[:, :3, :]
        gain = rows3[:, :, :3].sum(dim=2).mean(dim=1)
        offset = rows3[:, :, 3].mean(dim=1)
        return images * gain.view(n, 1, 1, 1) + offset.view(n, 1, 1, 1)
    raise ValueError(f"colour transforms need 1 or 3 channels, got {c}")
