"""Patch parameters for EpiGRAF's patch-wise training (Eq. 3-5) and real-patch extraction.

Patch (s, dx, dy): scale s in [s_min, 1] with s_min = r / R, offsets dx, dy ~ U[0, 1 - s]
independently (Eq. 3). Scale distributions:
- "beta" (Eq. 5): s = s_min + (1 - s_min) * X, X ~ Beta(1, beta(t)), beta(t) annealed linearly
  from ~0 (all mass at s = 1) to 0.8 over T kimg. Drawn by inverse CDF, X = 1 - U^(1 / beta),
  which is exact and makes beta = 0 the point mass at 1.
- "uniform" (Eq. 4): s ~ U[s_min(t), 1], s_min(t) = lerp(start, r / R, min(t / T, 1)), start = 1
  (Eq. 4 and the reference; the Fig 3 text uses 0.9).
One (s, dx, dy) is shared by each minibatch-stddev group of D (paper; see ``group_ids``).
Randomness comes from torch's global RNG (the loop seeds it per step).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganrepro.papers.epigraf.models.camera import ndc_grid, ndc_to_grid_sample

# Paper defaults (Sec 3.3-3.4): patch 64, beta(T) = 0.8, T = 10000 kimg, mbstd groups of 4.
PAPER_PATCH = dict(patch_resolution=64, schedule="beta", beta_start=0.001, beta_end=0.8, anneal_kimg=10000.0,
                   uniform_start=1.0, group_size=4)
SCHEDULES = ("beta", "uniform")


def lerp_schedule(kimg: float, start: float, end: float, anneal_kimg: float) -> float:
    """Linear from ``start`` at 0 to ``end`` at ``anneal_kimg``, constant after (reference's linear_schedule)."""
    if anneal_kimg <= 0 or kimg >= anneal_kimg:
        return float(end)
    return float(start + (end - start) * max(kimg, 0.0) / anneal_kimg)


def beta_at(kimg: float, anneal_kimg: float, start: float = 0.001, end: float = 0.8) -> float:
    return lerp_schedule(kimg, start, end, anneal_kimg)


def smin_at(kimg: float, anneal_kimg: float, min_scale: float, start: float = 1.0) -> float:
    return lerp_schedule(kimg, start, min_scale, anneal_kimg)


def group_ids(batch: int, group_size: int, micro_batch: int | None = None) -> torch.Tensor:
    """Group index of each sample such that every minibatch-stddev group D forms holds ONE group.

    D sees micro-batches of ``micro_batch`` consecutive samples (default: the whole batch) and its
    MinibatchStd puts sample i of a micro-batch of size b in group i % (b // g), g the largest
    divisor of b not above ``group_size`` (strided, as StyleGAN2's layer).
    """
    micro_batch = batch if micro_batch is None else int(micro_batch)
    if batch % micro_batch:
        raise ValueError(f"batch {batch} is not a multiple of the micro-batch {micro_batch}")
    g = max(d for d in range(1, min(group_size, micro_batch) + 1) if micro_batch % d == 0)
    per_micro = micro_batch // g
    i = torch.arange(batch)
    return (i // micro_batch) * per_micro + (i % micro_batch) % per_micro


def sample_scales(n: int, schedule: str, value: float, min_scale: float) -> torch.Tensor:
    """[n] scales. ``value`` is beta(t) for "beta", s_min(t) for "uniform" (clamped to [min_scale, 1])."""
    u = torch.rand(n)
    if schedule == "beta":
        x = 1.0 - u ** (1.0 / value) if value > 0 else torch.ones(n)
        return min_scale + (1.0 - min_scale) * x
    if schedule == "uniform":
        lo = min(max(float(value), min_scale), 1.0)
        return lo + (1.0 - lo) * u
    raise ValueError(f"unknown patch-scale schedule {schedule!r}; use one of {SCHEDULES}")


def sample_patch_params(batch: int, *, schedule: str, value: float, min_scale: float, group_size: int = 4,
                        micro_batch: int | None = None) -> torch.Tensor:
    """[batch, 3] = (s, dx, dy), one draw per minibatch-stddev group (``group_ids``)."""
    groups = group_ids(batch, group_size, micro_batch)
    num = int(groups.max()) + 1
    s = sample_scales(num, schedule, value, min_scale)
    offsets = torch.rand(num, 2) * (1.0 - s)[:, None]
    return torch.cat([s[:, None], offsets], dim=1)[groups]


def extract_real_patches(images: torch.Tensor, patch: torch.Tensor, resolution: int) -> torch.Tensor:
    """[N, C, r, r] real patches read bilinearly (align_corners=True) on the rays' pixel grid."""
    grid = ndc_to_grid_sample(ndc_grid(resolution, patch.to(images.device, images.dtype)))
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def scale_pdf(s: np.ndarray, schedule: str, value: float, min_scale: float) -> np.ndarray:
    """Analytic density of the scale (Fig 3); 0 outside the support."""
    s = np.asarray(s, dtype=np.float64)
    if schedule == "beta":
        x = (s - min_scale) / (1.0 - min_scale)
        inside = (x >= 0) & (x < 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dens = value * np.power(np.clip(1.0 - x, 1e-300, None), value - 1.0) / (1.0 - min_scale)
        return np.where(inside, dens, 0.0)
    if schedule == "uniform":
        lo = min(max(float(value), min_scale), 1.0)
        width = 1.0 - lo
        return np.where((s >= lo) & (s <= 1.0), 1.0 / width if width > 0 else np.inf, 0.0)
    raise ValueError(f"unknown patch-scale schedule {schedule!r}; use one of {SCHEDULES}")


def scale_cdf(s: np.ndarray, schedule: str, value: float, min_scale: float) -> np.ndarray:
    """Analytic CDF of the scale (for KS tests)."""
    s = np.asarray(s, dtype=np.float64)
    if schedule == "beta":
        x = np.clip((s - min_scale) / (1.0 - min_scale), 0.0, 1.0)
        return 1.0 - np.power(1.0 - x, value)
    if schedule == "uniform":
        lo = min(max(float(value), min_scale), 1.0)
        return np.clip((s - lo) / (1.0 - lo), 0.0, 1.0) if lo < 1 else (s >= 1.0).astype(np.float64)
    raise ValueError(f"unknown patch-scale schedule {schedule!r}; use one of {SCHEDULES}")
