"""Procedural STAND-INS for the INR paper's datasets: faces (FFHQ), churches (LSUN Church), animal faces (AFHQ).

Not natural images: they exist so the multi-stage pipeline runs offline at 32-64 px, where stage 1's
grid (H/4 = 8-16 px) sees only the global layout and the dense stages have fine detail to learn:

* ``faces``: skin-toned head ellipse under a hair cap with strand texture, eyes (sclera, iris,
  pupil, highlight), brows, nose shading, mouth, over a blurred two-tone background.
* ``churches``: sky gradient with soft cloud bands, ground, a nave with brick courses and arched
  windows, a tower topped by a spire (and a cross), roof tiles.
* ``animals``: head with fur texture (directional strands), ears (pointed / floppy / rounded by
  class: cat, dog, wild -- AFHQ's classes), eyes (slit or round pupils), muzzle, nose, whiskers.

Every image draws its geometry, colours and textures from a ``numpy.random.default_rng`` stream
keyed by (seed, family), rendered on a 2x supersampled grid and box-averaged down (anti-aliased).
"""

from __future__ import annotations

import numpy as np

from ganrepro.data.embedded.generated import Generated
from ganrepro.errors import DatasetError

SUPERSAMPLE = 2
CHUNK = 128
ANIMAL_CLASSES = ("cat", "dog", "wild")


def _col(rng, n, lo, hi):
    """[n, 3, 1, 1] random colours uniform in [lo, hi] per channel (lo, hi: 3-vectors)."""
    lo, hi = np.asarray(lo, np.float32), np.asarray(hi, np.float32)
    return (lo + (hi - lo) * rng.random((n, 3), dtype=np.float32))[:, :, None, None]


def _u(rng, n, lo, hi):
    return (lo + (hi - lo) * rng.random(n, dtype=np.float32))[:, None, None]


def _ellipse(u, v, cx, cy, rx, ry):
    return ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1.0


def _paint(img, mask, colour):
    """img [n, 3, h, w] <- colour where mask [n, h, w] (float mask in [0, 1] blends)."""
    m = mask.astype(np.float32)[:, None]
    img *= 1 - m
    img += m * colour


def _texture(rng, n, u, v, freq, angle=None):
    """Band-limited high-frequency pattern in [-1, 1]: a sum of 3 random-phase sinusoids near ``freq``."""
    out = np.zeros_like(u)
    for _ in range(3):
        a = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32) if angle is None else angle
        f = freq * rng.uniform(0.8, 1.25, (n, 1, 1)).astype(np.float32)
        out += np.sin(f * (np.cos(a) * u + np.sin(a) * v) + rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32))
    return out / 3


def _faces(rng, n, u, v):
    img = np.empty((n, 3, *u.shape[1:]), np.float32)
    bg1, bg2 = _col(rng, n, [0.2] * 3, [0.9] * 3), _col(rng, n, [0.1] * 3, [0.7] * 3)
    t = (0.5 + 0.5 * np.tanh(2 * (u * _u(rng, n, -1, 1) + v * _u(rng, n, -1, 1))))[:, None]
    img[:] = bg1 * t + bg2 * (1 - t)
    cx, cy, rx, ry = _u(rng, n, -0.08, 0.08), _u(rng, n, 0.0, 0.12), _u(rng, n, 0.48, 0.6), _u(rng, n, 0.62, 0.75)
    hair = _col(rng, n, [0.05, 0.03, 0.02], [0.6, 0.45, 0.3])
    hair_mask = _ellipse(u, v, cx, cy - 0.12, rx * 1.18, ry * 1.1) & (v < cy + ry * 0.35)
    strands = 0.12 * _texture(rng, n, u, v, 55.0, angle=_u(rng, n, 1.3, 1.8))
    _paint(img, hair_mask, hair * (1 + strands[:, None]))
    tone = _u(rng, n, 0, 1)[:, None]  # one scalar per face: dark .. light skin
    skin = np.float32([0.4, 0.25, 0.17])[:, None, None] * (1 - tone) + np.float32([0.98, 0.82, 0.7])[:, None, None] * tone
    shade = 1 - 0.25 * (((u - cx) / rx) ** 2)[:, None]
    _paint(img, _ellipse(u, v, cx, cy, rx, ry), skin * shade * (1 + 0.03 * _texture(rng, n, u, v, 80.0)[:, None]))
    fringe = _ellipse(u, v, cx, cy - ry * 0.95, rx * 1.05, ry * 0.45)
    _paint(img, fringe, hair * (1 + strands[:, None]))
    ey, ex = cy - ry * 0.12, rx * _u(rng, n, 0.36, 0.46)
    iris = _col(rng, n, [0.1, 0.15, 0.1], [0.45, 0.5, 0.7])
    for side in (-1, 1):
        x0 = cx + side * ex
        _paint(img, _ellipse(u, v, x0, ey, rx * 0.2, ry * 0.08), np.float32(0.95))
        _paint(img, _ellipse(u, v, x0, ey, rx * 0.09, ry * 0.075), iris)
        _paint(img, _ellipse(u, v, x0, ey, rx * 0.04, ry * 0.035), np.float32(0.02))
        _paint(img, _ellipse(u, v, x0 + rx * 0.03, ey - ry * 0.025, rx * 0.018, ry * 0.016), np.float32(1.0))
        _paint(img, _ellipse(u, v, x0, ey - ry * 0.2, rx * 0.22, ry * 0.03), hair * 0.8)
    nose = _ellipse(u, v, cx + rx * 0.04, cy + ry * 0.15, rx * 0.07, ry * 0.17)
    _paint(img, nose, skin * 0.82)
    lips = _col(rng, n, [0.55, 0.15, 0.15], [0.85, 0.4, 0.4])
    mouth = _ellipse(u, v, cx, cy + ry * 0.45, rx * _u(rng, n, 0.25, 0.4), ry * _u(rng, n, 0.04, 0.09))
    _paint(img, mouth, lips)
    return img


def _churches(rng, n, u, v):
    img = np.empty((n, 3, *u.shape[1:]), np.float32)
    top, horizon = _col(rng, n, [0.15, 0.3, 0.6], [0.4, 0.6, 0.95]), _col(rng, n, [0.6, 0.7, 0.8], [0.95, 0.95, 1.0])
    t = ((v + 1) / 2)[:, None]
    img[:] = top * (1 - t) + horizon * t
    clouds = np.clip(_texture(rng, n, u, v * 3, 6.0) + _u(rng, n, -0.5, 0.3), 0, 1) * (v < 0.2)
    _paint(img, clouds * 0.7, np.float32(0.97))
    ground_y = _u(rng, n, 0.45, 0.7)
    ground = _col(rng, n, [0.2, 0.3, 0.1], [0.45, 0.55, 0.3])
    _paint(img, v > ground_y, ground * (1 + 0.15 * _texture(rng, n, u, v, 70.0)[:, None]))
    wall = _col(rng, n, [0.45, 0.35, 0.3], [0.85, 0.8, 0.7])
    x0, x1, roof_y = _u(rng, n, -0.85, -0.35), _u(rng, n, 0.35, 0.85), _u(rng, n, -0.1, 0.15)
    nave = (u > x0) & (u < x1) & (v > roof_y) & (v <= ground_y)
    bricks = ((np.sin(v * 90) > 0.85) | (np.sin(u * 45 + np.pi * (np.sin(v * 45) > 0)) > 0.95))
    _paint(img, nave, wall * (1 - 0.18 * bricks[:, None]))
    roof = _col(rng, n, [0.2, 0.1, 0.08], [0.5, 0.3, 0.25])
    roof_mask = (v <= roof_y) & (v > roof_y - 0.35 * (1 - np.abs(2 * (u - (x0 + x1) / 2) / (x1 - x0)))) & (u > x0) & (u < x1)
    _paint(img, roof_mask, roof * (1 - 0.2 * (np.sin(v * 120) > 0.7))[:, None])
    tc, tw = _u(rng, n, -0.35, 0.35), _u(rng, n, 0.1, 0.18)
    tower_top = roof_y - _u(rng, n, 0.35, 0.6)
    tower = (np.abs(u - tc) < tw) & (v > tower_top) & (v <= ground_y)
    _paint(img, tower, wall * 0.9 * (1 - 0.18 * bricks[:, None]))
    spire_h = _u(rng, n, 0.45, 0.75)
    spire = (v <= tower_top) & (np.abs(u - tc) < tw * (v - (tower_top - spire_h)) / spire_h)
    _paint(img, spire, roof * 0.8)
    cross = ((np.abs(u - tc) < 0.012) & (v > tower_top - spire_h - 0.12) & (v < tower_top - spire_h + 0.01)) | \
            ((np.abs(v - (tower_top - spire_h - 0.07)) < 0.012) & (np.abs(u - tc) < 0.05))
    _paint(img, cross, np.float32(0.1))
    glass = _col(rng, n, [0.05, 0.05, 0.1], [0.25, 0.25, 0.4])
    for k in range(4):  # arched windows along the nave
        wx = x0 + (x1 - x0) * (k + 0.5) / 4
        wy0, wy1 = roof_y + 0.15, roof_y + 0.15 + (ground_y - roof_y) * 0.45
        win = ((np.abs(u - wx) < 0.045) & (v > wy0) & (v < wy1)) | _ellipse(u, v, wx, wy0, 0.045, 0.045)
        _paint(img, win & nave & ~tower, glass)
    _paint(img, _ellipse(u, v, tc, tower_top + 0.15, 0.05, 0.06) & tower, glass)  # belfry
    return img


def _animals(rng, n, u, v, cls):
    img = np.empty((n, 3, *u.shape[1:]), np.float32)
    img[:] = _col(rng, n, [0.2] * 3, [0.8] * 3) * (1 + 0.1 * _texture(rng, n, u, v, 8.0)[:, None])
    palette = np.array([[[0.75, 0.45, 0.2], [0.95, 0.85, 0.7]],   # cat: ginger .. cream
                        [[0.3, 0.2, 0.12], [0.85, 0.7, 0.5]],     # dog: brown .. tan
                        [[0.45, 0.4, 0.35], [0.8, 0.65, 0.4]]], np.float32)  # wild: grey .. tawny
    lo, hi = palette[cls, 0], palette[cls, 1]
    fur = (lo + (hi - lo) * rng.random((n, 1), dtype=np.float32))[:, :, None, None]
    cx, cy, r = _u(rng, n, -0.08, 0.08), _u(rng, n, 0.05, 0.15), _u(rng, n, 0.5, 0.62)
    angle = np.arctan2(v - cy, u - cx)
    strands = 0.18 * np.sin(60 * np.sqrt((u - cx) ** 2 + (v - cy) ** 2) + 25 * angle
                            + rng.uniform(0, 6.3, (n, 1, 1)).astype(np.float32)) * _texture(rng, n, u, v, 30.0)
    fur_img = fur * (1 + strands[:, None])
    cs = cls[:, None, None]
    for side in (-1, 1):
        ex = cx + side * r * 0.62
        pointed = (v < cy - r * 0.3) & (v > cy - r * 1.35) & \
                  (np.abs(u - ex) < r * 0.38 * (v - (cy - r * 1.35)) / (r * 1.05))
        floppy = _ellipse(u, v, cx + side * r * 0.95, cy + r * 0.05, r * 0.28, r * 0.6)
        rounded = _ellipse(u, v, ex, cy - r * 0.8, r * 0.3, r * 0.3)
        ear = np.where(cs == 0, pointed, np.where(cs == 1, floppy, rounded))
        _paint(img, ear, fur_img * 0.85)
    _paint(img, _ellipse(u, v, cx, cy, r, r * 0.92), fur_img)
    muzzle = _ellipse(u, v, cx, cy + r * 0.38, r * 0.42, r * 0.3)
    _paint(img, muzzle, np.minimum(fur * 1.35, 1.0) * (1 + 0.5 * strands[:, None]))
    iris = _col(rng, n, [0.3, 0.4, 0.05], [0.8, 0.7, 0.3])
    for side in (-1, 1):
        x0, y0 = cx + side * r * 0.36, cy - r * 0.12
        _paint(img, _ellipse(u, v, x0, y0, r * 0.15, r * 0.12), iris)
        slit = np.where(cs == 0, _ellipse(u, v, x0, y0, r * 0.03, r * 0.11), _ellipse(u, v, x0, y0, r * 0.07, r * 0.07))
        _paint(img, slit, np.float32(0.03))
        _paint(img, _ellipse(u, v, x0 + r * 0.04, y0 - r * 0.04, r * 0.025, r * 0.025), np.float32(1.0))
        for k in (-1, 0, 1):  # whiskers
            y = cy + r * (0.42 + 0.07 * k)
            whisker = (np.abs(v - y - k * 0.12 * (u - x0)) < 0.006) & (side * (u - cx) > r * 0.3) & \
                      (side * (u - cx) < r * 1.05)
            _paint(img, whisker, np.float32(0.92))
    nose_y = cy + r * 0.22
    nose = (v > nose_y) & (v < nose_y + r * 0.13) & (np.abs(u - cx) < r * 0.12 * (1 - (v - nose_y) / (r * 0.13)))
    _paint(img, nose, _col(rng, n, [0.05, 0.03, 0.03], [0.45, 0.25, 0.25]))
    return img


def _render(family: str, *, count: int, resolution: int, seed: int, num_classes: int) -> Generated:
    if resolution < 8:
        raise DatasetError(f"embedded {family}: resolution must be >= 8, got {resolution}")
    if family != "animals" and num_classes:
        raise DatasetError(f"embedded {family} is unlabelled: num_classes must be 0, got {num_classes}")
    if family == "animals" and num_classes not in (0, len(ANIMAL_CLASSES)):
        raise DatasetError(f"embedded animals: num_classes must be 0 or {len(ANIMAL_CLASSES)}, got {num_classes}")
    rng = np.random.default_rng([int(seed), sum(map(ord, family))])
    s = resolution * SUPERSAMPLE
    axis = (np.arange(s, dtype=np.float32) + 0.5) / s * 2 - 1
    v, u = np.meshgrid(axis, axis, indexing="ij")
    images = np.empty((count, 3, resolution, resolution), np.uint8)
    classes = rng.integers(0, len(ANIMAL_CLASSES), count) if family == "animals" else None
    for start in range(0, count, CHUNK):
        n = min(CHUNK, count - start)
        uu, vv = np.broadcast_to(u, (n, s, s)), np.broadcast_to(v, (n, s, s))
        if family == "faces":
            img = _faces(rng, n, uu, vv)
        elif family == "churches":
            img = _churches(rng, n, uu, vv)
        else:
            img = _animals(rng, n, uu, vv, classes[start:start + n])
        img += rng.normal(0, 0.01, img.shape).astype(np.float32)
        img = img.reshape(n, 3, resolution, SUPERSAMPLE, resolution, SUPERSAMPLE).mean((3, 5))
        images[start:start + n] = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    labels = classes.astype(np.int64) if classes is not None and num_classes else None
    return Generated(images=images, labels=labels, num_classes=int(num_classes),
                     meta={"family": family, "supersample": SUPERSAMPLE,
                           **({"class_names": list(ANIMAL_CLASSES)} if labels is not None else {})})


def make_faces(*, count: int, resolution: int, seed: int, num_classes: int = 0) -> Generated:
    """FFHQ stand-in (unlabelled)."""
    return _render("faces", count=count, resolution=resolution, seed=seed, num_classes=num_classes)


def make_churches(*, count: int, resolution: int, seed: int, num_classes: int = 0) -> Generated:
    """LSUN Church stand-in (unlabelled)."""
    return _render("churches", count=count, resolution=resolution, seed=seed, num_classes=num_classes)


def make_animals(*, count: int, resolution: int, seed: int, num_classes: int = 0) -> Generated:
    """AFHQ stand-in; ``num_classes=3`` keeps the cat/dog/wild labels."""
    return _render("animals", count=count, resolution=resolution, seed=seed, num_classes=num_classes)
