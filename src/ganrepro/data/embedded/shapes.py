"""Procedural class-conditional colour images: the offline STAND-IN for CIFAR-10 / ImageNet / FFHQ.

These are not natural images. They exist so that every stage of the pipeline (training, FID with
the pipeline's own feature extractor, tables) runs offline in minutes; numbers measured on them
say nothing about the papers' datasets, and every table marks which stand-in replaced what.

Each image: one light, saturated shape of one of 10 classes (disc, square, triangle, ring, cross,
star, horizontal bars, vertical bars, diamond, checker blob) with random position, size, rotation
(per-class range, so that e.g. horizontal and vertical bars stay distinct) and colour, over a
darker two-colour linear gradient background in a random direction, plus light uniform noise
(standard deviation 0.02 of full range). Keeping the shape lighter than the background is deliberate: it gives
the classes distinct mean images (a nearest-class-mean classifier on raw pixels is far above chance).

Rendering is anti-aliased by supersampling: the shape's coverage is evaluated on an
``ss * R`` grid (ss = 4 up to 64 px, 2 above) and box-averaged down to ``R``. All random draws come
from ``numpy.random.default_rng`` streams keyed by the seed, so a seed gives the same images.
"""

from __future__ import annotations

import numpy as np

from ganrepro.data.embedded.generated import Generated
from ganrepro.errors import DatasetError

CLASS_NAMES = ("disc", "square", "triangle", "ring", "cross", "star", "hbars", "vbars", "diamond", "checker")
MAX_CLASSES = len(CLASS_NAMES)
# Rotation range (degrees, +-) per class.
_MAX_ROT = np.array([180, 15, 25, 180, 15, 180, 12, 12, 15, 15], dtype=np.float32)
NOISE_SIGMA = 0.02
_CHUNK_PIXELS = 1 << 22
# Pentagram of tip radius 1: edge-line normals point at the tips; apothem = cos72/cos36 * cos36.
_STAR_NORMALS = [(float(np.cos(a)), float(np.sin(a))) for a in -np.pi / 2 + 2 * np.pi * np.arange(5) / 5]
_STAR_APOTHEM = float(np.cos(2 * np.pi / 5))  # supersampled pixels per rendering chunk (bounds memory at any resolution)


def _coverage(cls: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test of class ``cls`` in the shape's own frame (unit radius); bool like ``u``."""
    au, av = np.abs(u), np.abs(v)
    if cls == 0:  # disc
        return u * u + v * v <= 1.0
    if cls == 1:  # square
        return np.maximum(au, av) <= 0.8
    if cls == 2:  # equilateral triangle, apex up (image v grows downwards), inradius 0.5
        return (v <= 0.5) & (0.866 * u - 0.5 * v <= 0.5) & (-0.866 * u - 0.5 * v <= 0.5)
    if cls == 3:  # ring
        r2 = u * u + v * v
        return (r2 <= 1.0) & (r2 >= 0.3)
    if cls == 4:  # plus-shaped cross
        return ((au <= 0.28) & (av <= 0.95)) | ((av <= 0.28) & (au <= 0.95))
    if cls == 5:  # pentagram, tip up: inside >= 4 of the 5 half-planes of its edge lines
        votes = np.zeros(u.shape, dtype=np.uint8)
        for nu, nv in _STAR_NORMALS:
            votes += nu * u + nv * v <= _STAR_APOTHEM
        return votes >= 4
    if cls in (6, 7):  # three horizontal / vertical bars: |across| in [0, .18] or [.54, .9]
        a = av if cls == 6 else au
        return (au <= 0.9) & (av <= 0.9) & ((a <= 0.18) | (a >= 0.54))
    if cls == 8:  # tall diamond
        return au / 0.6 + av <= 1.0
    if cls == 9:  # checkerboard inside a disc
        # Cell parity of floor(2u) + floor(2v); the +8 offset keeps the int cast a floor (|u| < 8).
        cells = ((u + 8) * 2).astype(np.int32) ^ ((v + 8) * 2).astype(np.int32)
        return (u * u + v * v <= 1.0) & (cells & 1 == 0)
    raise ValueError(cls)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV (all in [0, 1]) -> RGB [..., 3]."""
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6.0) % 6.0
    return v[..., None] - v[..., None] * s[..., None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def supersampling(resolution: int) -> int:
    return 4 if resolution <= 64 else 2


def make_shapes(*, count: int, resolution: int, seed: int, num_classes: int = MAX_CLASSES) -> Generated:
    """``count`` RGB images uint8 [N, 3, R, R].

    ``num_classes`` k in 1..10: shapes of the first k classes, labels stored. 0: unconditional
    (all 10 shapes, labels -1). The drawn shape class is always kept in ``shape_labels`` [N].
    """
    count, resolution, seed = int(count), int(resolution), int(seed)
    if not 0 <= int(num_classes) <= MAX_CLASSES:
        raise DatasetError(f"shapes supports 0 (unlabelled) to {MAX_CLASSES} classes, got {num_classes}")
    if not 8 <= resolution <= 256:
        raise DatasetError(f"shapes renders resolutions 8..256, got {resolution}")
    k = int(num_classes) or MAX_CLASSES
    rng = np.random.default_rng([seed, 0x5A9E5])
    # Every per-image parameter is drawn up front, vectorised, so chunking never changes them.
    cls = rng.integers(0, k, count)
    centre = rng.uniform(-0.2, 0.2, (count, 2)).astype(np.float32)
    radius = rng.uniform(0.45, 0.75, count).astype(np.float32)
    theta = np.deg2rad(rng.uniform(-1.0, 1.0, count) * _MAX_ROT[cls]).astype(np.float32)
    fg = _hsv_to_rgb(rng.uniform(0, 1, count), rng.uniform(0.35, 1.0, count), rng.uniform(0.75, 1.0, count))
    bg = _hsv_to_rgb(rng.uniform(0, 1, (count, 2)), rng.uniform(0.2, 0.8, (count, 2)),
                     rng.uniform(0.05, 0.45, (count, 2)))  # [N, 2, 3]
    grad_angle = rng.uniform(0, 2 * np.pi, count)
    noise_rng = np.random.default_rng([seed, 0x0015E])

    ss = supersampling(resolution)
    size = resolution * ss
    g = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1)
    gx, gy = g[None, None, :], g[None, :, None]
    gr = ((np.arange(resolution, dtype=np.float32) + 0.5) / resolution * 2 - 1)

    images = np.empty((count, 3, resolution, resolution), dtype=np.uint8)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for lo in range(0, count, chunk):
        hi = min(count, lo + chunk)
        b = hi - lo
        alpha = np.empty((b, resolution, resolution), dtype=np.float32)
        for c in np.unique(cls[lo:hi]):
            sel = np.flatnonzero(cls[lo:hi] == c)
            i = sel + lo
            # Rotated, scaled frame. x and y enter separably, so the small [b,1,S] and [b,S,1]
            # factors are formed first and only their sums touch the full supersampled grid.
            cos = (np.cos(theta[i]) / radius[i])[:, None, None]
            sin = (np.sin(theta[i]) / radius[i])[:, None, None]
            dx, dy = gx - centre[i, 0, None, None], gy - centre[i, 1, None, None]
            u, v = cos * dx + sin * dy, cos * dy - sin * dx
            inside = _coverage(int(c), u, v).view(np.uint8)
            # Box-average ss x ss blocks (two single-axis uint8 sums: faster than one 2-axis mean).
            hits = inside.reshape(len(sel), resolution, ss, size).sum(axis=2, dtype=np.uint8)
            hits = hits.reshape(len(sel), resolution, resolution, ss).sum(axis=3, dtype=np.uint8)
            alpha[sel] = hits * np.float32(1.0 / (ss * ss))
        # Background: linear blend of two colours along a random direction, at output resolution.
        ca, sa = np.cos(grad_angle[lo:hi])[:, None, None], np.sin(grad_angle[lo:hi])[:, None, None]
        t = np.clip((ca * gr[None, None, :] + sa * gr[None, :, None]) / np.sqrt(2) * 0.5 + 0.5, 0, 1)
        c0, c1 = bg[lo:hi, 0, :, None, None], bg[lo:hi, 1, :, None, None]
        back = c0 + (c1 - c0) * t[:, None]
        a = alpha[:, None]
        img = back * (1 - a) + fg[lo:hi, :, None, None] * a
        # Uniform noise with standard deviation NOISE_SIGMA (5x cheaper to draw than Gaussian).
        img += (noise_rng.random(img.shape, dtype=np.float32) - 0.5) * np.float32(NOISE_SIGMA * 12**0.5)
        images[lo:hi] = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)

    labels = cls.astype(np.int64) if num_classes else None
    meta = {"generator": "shapes", "class_names": list(CLASS_NAMES[:k]), "supersampling": ss,
            "noise_sigma": NOISE_SIGMA,
            "note": "procedural stand-in, not natural images"}
    return Generated(images=images, labels=labels, num_classes=int(num_classes),
                     extra_arrays={"shape_labels": cls.astype(np.int64)}, meta=meta)
