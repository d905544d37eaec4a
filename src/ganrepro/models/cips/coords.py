"""Pixel coordinates for INR generators (CIPS), as the multi-stage paper defines them.

Convention (CIPS, ``convert_to_coord_format``): a coordinate tensor is ``[2, h, w]`` (or
``[B, 2, h, w]``) with channel 0 = x (along the width) and channel 1 = y (along the height), both in
the unit frame where pixel 0 of an ``S``-pixel side sits at -1 and pixel ``S - 1`` at +1
(``linspace(-1, 1, S)``). The same order (x, y) is what ``F.grid_sample`` expects.

Paper, Eq. (1): ``grid(H, W, N) = {(H/N * k, W/N * l) | 0 <= k, l < N}`` -- N x N integer pixel
positions spaced H/N apart, starting at pixel 0 and spanning the whole H x W frame. ``N = H`` is the
dense grid; ``N = H/4`` is stage 1's sparse grid (every 4th pixel). ``rcrop`` (Eq. 3) takes a
``crop x crop`` window of consecutive entries of such a grid. Coordinates outside [-1, 1]
(``pixel_coords`` with positions < 0 or > S - 1) render beyond the training frame (extrapolation).
"""

from __future__ import annotations

import torch


def unit_from_pixels(p: torch.Tensor, size: int) -> torch.Tensor:
    """Pixel positions (any real numbers) -> the unit frame of an ``size``-pixel side: -1 + 2p/(size-1)."""
    if size < 2:
        raise ValueError(f"a side needs at least 2 pixels, got {size}")
    return p * (2.0 / (size - 1)) - 1.0


def grid_positions(size: int, n: int) -> torch.Tensor:
    """The paper's 1D positions ``size/n * k`` for k = 0..n-1 (float pixels); ``n`` must divide ``size``."""
    if n < 1 or size % n:
        raise ValueError(f"grid size N={n} must divide the image side {size}")
    return torch.arange(n, dtype=torch.float64) * (size // n)


def pixel_coords(rows: torch.Tensor, cols: torch.Tensor, H: int, W: int, *,
                 device=None, dtype=torch.float32) -> torch.Tensor:
    """[2, len(rows), len(cols)] coordinates of the pixel positions ``rows`` x ``cols`` of an H x W frame.

    Positions may be fractional or lie outside [0, H-1] x [0, W-1] (extrapolation beyond [-1, 1]).
    """
    y = unit_from_pixels(torch.as_tensor(rows, dtype=torch.float64), H)
    x = unit_from_pixels(torch.as_tensor(cols, dtype=torch.float64), W)
    gy, gx = torch.meshgrid(y, x, indexing="ij")
    return torch.stack([gx, gy]).to(device=device, dtype=dtype)


def grid(H: int, W: int, N: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Eq. (1): the N x N grid of pixel positions (H/N k, W/N l) over the full frame, as [2, N, N]."""
    return pixel_coords(grid_positions(H, N), grid_positions(W, N), H, W, device=device, dtype=dtype)


def extrapolation_grid(H: int, W: int, margin: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """The dense grid extended by ``margin`` pixels on every side: [2, H + 2m, W + 2m], beyond [-1, 1]."""
    rows = torch.arange(-margin, H + margin, dtype=torch.float64)
    cols = torch.arange(-margin, W + margin, dtype=torch.float64)
    return pixel_coords(rows, cols, H, W, device=device, dtype=dtype)


def random_offsets(n: int, crop: int, batch: int, *, step: int = 1, device=None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """[batch, 2] (row, col) top-left indices of ``crop x crop`` windows of an n x n grid, uniform over
    the multiples of ``step`` in [0, n - crop] (torch's global RNG unless ``generator`` is given)."""
    if not 1 <= crop <= n:
        raise ValueError(f"crop {crop} must lie in [1, {n}]")
    choices = (n - crop) // step + 1
    draw = torch.randint(0, choices, (batch, 2), generator=generator)
    return (draw * step).to(device)


def crop(x: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """Per-sample windows: ``x`` [B, C, n, n] (or [C, n, n], shared), offsets [B, 2] (row, col)
    -> [B, C, size, size] with out[b] = x[b, :, r_b : r_b + size, c_b : c_b + size]."""
    offsets = offsets.to(x.device).long()
    batch = offsets.shape[0]
    if x.dim() == 3:
        x = x.unsqueeze(0).expand(batch, -1, -1, -1)
    if x.shape[0] != batch:
        raise ValueError(f"{x.shape[0]} images but {batch} crop offsets")
    if (offsets < 0).any() or (offsets + size > torch.tensor(x.shape[-2:], device=x.device)).any():
        raise ValueError(f"a {size}x{size} crop at {offsets.tolist()} leaves the {list(x.shape[-2:])} grid")
    span = torch.arange(size, device=x.device)
    rows = (offsets[:, 0:1] + span)[:, :, None]  # [B, size, 1]
    cols = (offsets[:, 1:2] + span)[:, None, :]  # [B, 1, size]
    b = torch.arange(batch, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2)


def rcrop(coords: torch.Tensor, size: int, *, batch: int | None = None, offsets: torch.Tensor | None = None,
          step: int = 1, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (3)'s rcrop: a random ``size x size`` window of a coordinate grid ``coords`` [2, n, n].

    Returns (coords [B, 2, size, size], offsets [B, 2]); ``offsets`` given -> those windows.
    """
    n = coords.shape[-1]
    if offsets is None:
        offsets = random_offsets(n, size, batch or 1, step=step, device=coords.device, generator=generator)
    return crop(coords, offsets, size), offsets
