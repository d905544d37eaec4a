"""Pixel blitting: x-flip, 90-degree rotation and integer translation, executed as an exact gather."""

from __future__ import annotations

from typing import Mapping

import torch

from .draws import Draws
from .matrices import eye, mat3, matmul

BLIT_TRANSFORMS = ("xflip", "rotate90", "xint")


def sample_blit(
    draws: Draws,
    mult: Mapping[str, float],
    p: float,
    masks: dict[str, torch.Tensor],
    *,
    height: int,
    width: int,
    xint_max: float,
) -> torch.Tensor | None:
    """Inverse (output -> input) maps ``[N, 3, 3]`` on doubled centred pixel coordinates, or None.

    None when every blit multiplier is 0 (nothing drawn). Writes each enabled transform's gate into
    ``masks``. ``xint`` translates by ``round(U(-xint_max, xint_max) * size)`` whole pixels;
    ``rotate90`` never passes for non-square images.
    """
    if not any(mult[k] > 0 for k in BLIT_TRANSFORMS):
        return None
    n, dev, p = draws.n, draws.device, float(p)
    b = eye(n, 3, dev)
    if mult["xflip"] > 0:
        flip = torch.floor(draws.rand(n) * 2)
        m = draws.gate(mult["xflip"] * p)
        flip = torch.where(m, flip, draws.zeros())
        masks["xflip"] = m
        b = matmul(b, mat3([[1 - 2 * flip, 0, 0], [0, 1, 0], [0, 0, 1]], dev))
    if mult["rotate90"] > 0:
        quarter = torch.floor(draws.rand(n) * 4).long()
        m = draws.gate(mult["rotate90"] * p) & (height == width)
        quarter = torch.where(m, quarter, torch.zeros_like(quarter))
        masks["rotate90"] = m
        cos = torch.tensor([1.0, 0.0, -1.0, 0.0], device=dev)[quarter]
        sin = torch.tensor([0.0, 1.0, 0.0, -1.0], device=dev)[quarter]
        b = matmul(b, mat3([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], dev))
    if mult["xint"] > 0:
        t = (draws.rand(n, 2) * 2 - 1) * xint_max
        m = draws.gate(mult["xint"] * p)
        t = torch.where(m.unsqueeze(1), t, torch.zeros_like(t))
        masks["xint"] = m
        tx = torch.round(t[:, 0] * width)
        ty = torch.round(t[:, 1] * height)
        b = matmul(b, mat3([[1, 0, -2 * tx], [0, 1, -2 * ty], [0, 0, 1]], dev))
    return b


def reflect_index(i: torch.Tensor, size: int) -> torch.Tensor:
    """Map integer indices onto ``[0, size)`` by ``reflect`` padding (mirror about edge pixels)."""
    if size == 1:
        return torch.zeros_like(i)
    period = 2 * (size - 1)
    i = torch.remainder(i, period)
    return torch.where(i >= size, period - i, i)


def apply_blit(images: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Exact integer warp. ``matrix`` ``[N, 3, 3]`` maps output to input doubled centred coords.

    Doubled centred coordinates are ``u = 2*x - (W-1)``, ``v = 2*y - (H-1)`` (integers); the matrix
    must map them to integers of the same parity (flips, 90-degree rotations of square images and
    translations by even amounts, i.e. whole pixels). Out-of-range sources are ``reflect``-padded.
    Evaluated elementwise (exact in float32), executed as a gather (differentiable).
    """
    n, c, h, w = images.shape
    m = matrix.to(device=images.device, dtype=torch.float32)
    u = (torch.arange(w, device=images.device, dtype=torch.float32) * 2 - (w - 1)).view(1, 1, w)
    v = (torch.arange(h, device=images.device, dtype=torch.float32) * 2 - (h - 1)).view(1, h, 1)
    su = m[:, 0, 0, None, None] * u + m[:, 0, 1, None, None] * v + m[:, 0, 2, None, None]
    sv = m[:, 1, 0, None, None] * u + m[:, 1, 1, None, None] * v + m[:, 1, 2, None, None]
    sx = reflect_index(torch.round((su + (w - 1)) / 2).long(), w)
    sy = reflect_index(torch.round((sv + (h - 1)) / 2).long(), h)
    index = (sy * w + sx).reshape(n, 1, h * w).expand(n, c, h * w)
    return images.reshape(n, c, h * w).gather(2, index).reshape(n, c, h, w)
