"""Geometric transforms: isotropic scale, arbitrary rotation, anisotropic scale, fractional translation.

Executed by supersampled bilinear resampling (``grid_sample`` with ``reflection`` padding) of the
samples that drew a transform; see the package docstring for how this differs from ADA's wavelet
resampling.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch
import torch.nn.functional as F

from .draws import Draws
from .matrices import eye, mat3, matmul

GEOM_TRANSFORMS = ("scale", "rotate", "aniso", "xfrac")


def sample_geometric(
    draws: Draws,
    mult: Mapping[str, float],
    p: float,
    masks: dict[str, torch.Tensor],
    *,
    height: int,
    width: int,
    scale_std: float,
    rotate_max: float,
    aniso_std: float,
    xfrac_std: float,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(inverse maps [N, 3, 3] on centred pixel coordinates, bool [N] active)``, or None.

    None when every geometric multiplier is 0. Order (ADA's): scale ``2**N(0, scale_std)``, rotation
    ``U(+-rotate_max * pi)``, anisotropic scale ``2**N(0, aniso_std)``, a second rotation, translation
    ``N(0, xfrac_std) * size``. Each rotation draw passes with ``1 - sqrt(1 - p * rotate)`` so that
    *some* rotation happens with probability ``p * rotate``; ``masks["rotate"]`` is their union.
    ``active`` marks the samples any geometric gate passed for.
    """
    if not any(mult[k] > 0 for k in GEOM_TRANSFORMS):
        return None
    n, dev, p = draws.n, draws.device, float(p)
    g = eye(n, 3, dev)
    active = torch.zeros(n, dtype=torch.bool, device=dev)
    if mult["scale"] > 0:
        s = torch.exp2(draws.randn(n) * scale_std)
        m = draws.gate(mult["scale"] * p)
        s = torch.where(m, s, draws.ones())
        masks["scale"] = m
        active |= m
        g = matmul(g, mat3([[1 / s, 0, 0], [0, 1 / s, 0], [0, 0, 1]], dev))
    p_rot = 1 - math.sqrt(max(0.0, 1 - min(mult["rotate"] * p, 1.0)))
    rot_any = torch.zeros(n, dtype=torch.bool, device=dev)

    def rotate_step(g):
        nonlocal rot_any, active
        theta = (draws.rand(n) * 2 - 1) * math.pi * rotate_max
        m = draws.gate(p_rot)
        theta = torch.where(m, theta, draws.zeros())
        rot_any = rot_any | m
        active = active | m
        c, s_ = torch.cos(theta), torch.sin(theta)
        return matmul(g, mat3([[c, -s_, 0], [s_, c, 0], [0, 0, 1]], dev))

    if mult["rotate"] > 0:
        g = rotate_step(g)
    if mult["aniso"] > 0:
        s = torch.exp2(draws.randn(n) * aniso_std)
        m = draws.gate(mult["aniso"] * p)
        s = torch.where(m, s, draws.ones())
        masks["aniso"] = m
        active |= m
        g = matmul(g, mat3([[1 / s, 0, 0], [0, s, 0], [0, 0, 1]], dev))
    if mult["rotate"] > 0:
        g = rotate_step(g)
        masks["rotate"] = rot_any
    if mult["xfrac"] > 0:
        t = draws.randn(n, 2) * xfrac_std
        m = draws.gate(mult["xfrac"] * p)
        t = torch.where(m.unsqueeze(1), t, torch.zeros_like(t))
        masks["xfrac"] = m
        active |= m
        g = matmul(g, mat3([[1, 0, -t[:, 0] * width], [0, 1, -t[:, 1] * height], [0, 0, 1]], dev))
    return g, active


def subpixel_warp(coord: torch.Tensor, k: int) -> torch.Tensor:
    """Pixel-index coordinate at which plain bilinear sampling of the original image equals
    bilinear sampling of its ``k``-x nearest-upsampled copy at ``coord``.

    Within a source pixel the upsampled image is constant; bilinear weights ramp only across the
    ``1/k``-wide gap between the outermost sub-pixel centres of neighbouring pixels.
    """
    base = torch.floor(coord)
    ramp = ((coord - base) - 0.5 + 0.5 / k) * k
    return base + ramp.clamp(0.0, 1.0)


def apply_geometric(images: torch.Tensor, matrix: torch.Tensor, supersample: int = 2) -> torch.Tensor:
    """Resample with an inverse map ``matrix`` ``[N, 3, 3]`` on centred pixel coordinates.

    Output pixel centre ``(x - (W-1)/2, y - (H-1)/2)`` samples the input at ``matrix @ [x, y, 1]``.
    With ``supersample = k``: the output is rendered on a ``k``-x finer grid by bilinear
    ``grid_sample`` (``reflection`` padding) of the ``k``-x *nearest*-upsampled input, then
    ``k`` x ``k`` box-downsampled. The nearest upsampling is never materialised: it is folded into
    the sampling coordinates (:func:`subpixel_warp`). Exact (to float rounding) for the identity
    matrix; equal to plain bilinear for pure translations; ``k**2``-tap anti-aliasing when shrinking.
    """
    n, c, h, w = images.shape
    k = int(supersample)
    if k < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample!r}")
    m = matrix.to(device=images.device, dtype=torch.float32)
    # Normalised coords (align_corners=False): x_norm = x_centred / (W/2).
    s = torch.tensor([w / 2.0, h / 2.0, 1.0], device=images.device)
    theta = (m * s.view(1, 1, 3)) / s.view(1, 3, 1)  # = diag(s)^-1 @ m @ diag(s)
    grid = F.affine_grid(theta[:, :2, :], [n, c, h * k, w * k], align_corners=False)
    if k > 1:
        px = subpixel_warp(((grid[..., 0] + 1) * w - 1) / 2, k)
        py = subpixel_warp(((grid[..., 1] + 1) * h - 1) / 2, k)
        grid = torch.stack(((2 * px + 1) / w - 1, (2 * py + 1) / h - 1), dim=-1)
    y = F.grid_sample(
        images, grid.to(images.dtype), mode="bilinear", padding_mode="reflection", align_corners=False
    )
    if k > 1:
        y = F.avg_pool2d(y, k)
    return y
