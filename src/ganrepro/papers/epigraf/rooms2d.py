"""Procedural bedroom-like 2D scenes: the offline STAND-IN for LSUN Bedroom (EpiGRAF Table 3).

One-point-perspective room: back wall (a rectangle around a random vanishing point), floor,
ceiling and side walls as trapezoids in their own colours; a bed against the back wall (frame,
mattress, pillow, blanket), a window or picture on the back wall and optionally a lamp. Colours,
sizes and positions are random per image; 2 x 2 supersampled. Unlabelled. Not LSUN data.
"""

from __future__ import annotations

import numpy as np

from ganrepro.data.embedded.generated import Generated
from ganrepro.errors import DatasetError


def _room(rng: np.random.Generator, res: int) -> np.ndarray:
    ss = 2 * res
    v, u = (np.mgrid[0:ss, 0:ss] + 0.5) / ss  # rows (down), columns (right) in [0, 1]
    cx, cy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.5)
    hw, hh = rng.uniform(0.22, 0.32), rng.uniform(0.18, 0.26)
    left, right, top, bottom = cx - hw, cx + hw, cy - hh, cy + hh
    wall = rng.uniform(0.45, 0.9, 3)
    img = np.empty((ss, ss, 3))
    img[:] = wall * 0.8  # side walls
    outside = np.abs(u - np.clip(u, left, right))  # horizontal distance from the back wall's span
    slope = 1.0 / max(left, 1 - right)  # walls meet floor and ceiling along lines to the image corners
    img[v < top - outside * top * slope] = wall * 1.05  # ceiling
    img[v > bottom + outside * (1 - bottom) * slope] = rng.uniform(0.25, 0.6, 3)  # floor
    img[(u >= left) & (u <= right) & (v >= top) & (v <= bottom)] = wall  # back wall
    # window or picture on the back wall
    wx, wy = rng.uniform(left + 0.05, right - 0.15), rng.uniform(top + 0.03, top + 0.08)
    ww, wh = rng.uniform(0.08, 0.14), rng.uniform(0.06, 0.1)
    img[(u > wx) & (u < wx + ww) & (v > wy) & (v < wy + wh)] = rng.uniform(0.6, 1.0, 3) * [0.8, 0.9, 1.0]
    # bed: frame, mattress, blanket, pillow, standing on the floor in front of the back wall
    bx0, bx1 = cx - rng.uniform(0.15, 0.25), cx + rng.uniform(0.15, 0.25)
    by0, by1 = bottom - rng.uniform(0.06, 0.1), min(0.97, bottom + rng.uniform(0.2, 0.35))
    frame = rng.uniform(0.2, 0.55, 3) * [1.0, 0.8, 0.6]
    img[(u > bx0 - 0.02) & (u < bx1 + 0.02) & (v > by0 - 0.08) & (v < by0 + 0.02)] = frame  # headboard
    img[(u > bx0) & (u < bx1) & (v > by0) & (v < by1)] = rng.uniform(0.75, 1.0, 3)  # sheet
    img[(u > bx0) & (u < bx1) & (v > by0 + 0.35 * (by1 - by0)) & (v < by1)] = rng.uniform(0.2, 0.9, 3)  # blanket
    py = by0 + 0.02
    img[((u - (bx0 + bx1) / 2) / ((bx1 - bx0) * 0.3)) ** 2 + ((v - py - 0.03) / 0.03) ** 2 < 1] = 0.95
    if rng.uniform() < 0.6:  # lamp on a side table
        lx = rng.choice([bx0 - 0.08, bx1 + 0.08])
        img[(np.abs(u - lx) < 0.04) & (v > by0 + 0.05) & (v < by0 + 0.12)] = frame * 0.8
        img[(np.abs(u - lx) < 0.03 + 0.5 * (v - by0 + 0.04)) & (v > by0 - 0.04) & (v < by0 + 0.02)] = [1.0, 0.9, 0.6]
    img = np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1)
    return img.reshape(res, 2, res, 2, 3).mean(axis=(1, 3))


def make_rooms2d(*, count: int, resolution: int, seed: int, num_classes: int | None = None) -> Generated:
    """``count`` bedroom-like images uint8 [N, 3, R, R], unlabelled."""
    if num_classes:
        raise DatasetError(f"rooms2d is unlabelled; set num_classes: 0 (got {num_classes})")
    rng = np.random.default_rng([int(seed), 0xBED])
    images = np.stack([_room(rng, resolution) for _ in range(count)])
    images = (images.transpose(0, 3, 1, 2) * 255 + 0.5).astype(np.uint8)
    return Generated(images=images, labels=None, num_classes=0, meta={"family": "rooms2d"})
