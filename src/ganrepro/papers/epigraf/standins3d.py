"""3D stand-ins for EpiGRAF's datasets, ray-traced from real 3D geometry at known cameras.

Each image is a scene of analytic primitives (ellipsoids and capped cylinders, exact ray
intersections) rendered with EpiGRAF's own camera model (``ganrepro.papers.epigraf.models.camera``), so a
3D-consistent generator with that camera can learn them. Shading: Lambert with a world-fixed light
plus ambient; 2 x 2 supersampling. The pose of every image is stored (``poses`` [N, 3] = yaw,
pitch, roll in radians, the reference's ``camera_angles``).

Families (stand-in for):
- ``plants3d`` (M-Plants): pot + stem + leaves, 4 classes (fern, broadleaf, succulent, tree);
- ``food3d`` (M-Food): 4 classes (burger = stacked cylinders, cake = tiers + cherry, fruit = sphere
  cluster, macarons = stacked flat discs);
  both 360-degree: white background, camera uniform on the sphere (yaw U[-pi, pi], pitch =
  arccos(1 - 2v)), fov 30, radius 1 (the reference's Megascans settings);
- ``heads3d`` (FFHQ): ellipsoid face, eyes, nose, mouth, hair, yaw ~ Normal(0, 0.3), pitch ~
  Normal(pi/2, 0.2) (Table 4); ``cats3d`` (Cats): head, ears, muzzle, eyes, nose, yaw ~ Normal(0, 0.2),
  pitch ~ Normal(pi/2, 0.2); both frontal: flat coloured background, fov 12 (reference FFHQ/Cats).
These are not the papers' data: numbers measured on them say nothing about the papers' datasets.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ganrepro.data.embedded.generated import Generated
from ganrepro.errors import DatasetError
from ganrepro.papers.epigraf.models.camera import CAMERA_PRESETS, camera_rays

ELLIPSOID, CYLINDER = 0, 1
LIGHT = np.array([0.45, 0.8, 0.4]) / np.linalg.norm([0.45, 0.8, 0.4])
AMBIENT = 0.4
SUPERSAMPLE = 2
CHUNK_IMAGES = 32
# Frontal pose distributions of Table 4 (yaw std, pitch std; means 0 and pi/2).
FRONTAL_POSES = {"heads3d": (0.3, 0.2), "cats3d": (0.2, 0.2)}


def _rot(yaw: float = 0.0, tilt: float = 0.0) -> np.ndarray:
    """Rotation: tilt about z (towards +x), then yaw about y."""
    cy, sy, ct, st = math.cos(yaw), math.sin(yaw), math.cos(tilt), math.sin(tilt)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[ct, -st, 0], [st, ct, 0], [0, 0, 1]])
    return ry @ rz


def _rot_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _prim(kind, center, size, color, rot=None):
    return (kind, np.asarray(center, float), np.asarray(size, float), np.asarray(color, float),
            np.eye(3) if rot is None else rot)


# ----------------------------------------------------------------------------- scene families
def _plant(rng, cls):
    pot_r, pot_h = rng.uniform(0.05, 0.075), rng.uniform(0.03, 0.045)
    base = -0.2
    prims = [_prim(CYLINDER, [0, base + pot_h, 0], [pot_r, pot_h, pot_r], rng.uniform([0.55, 0.25, 0.12], [0.75, 0.4, 0.2])),
             _prim(CYLINDER, [0, base + 2 * pot_h, 0], [pot_r * 0.9, 0.004, pot_r * 0.9], [0.25, 0.17, 0.1])]
    top = base + 2 * pot_h
    green = rng.uniform([0.1, 0.35, 0.08], [0.3, 0.65, 0.25])
    height = {0: 0.22, 1: 0.16, 2: 0.04, 3: 0.25}[cls] * rng.uniform(0.8, 1.1)
    prims.append(_prim(CYLINDER, [0, top + height / 2, 0], [0.007, height / 2, 0.007], [0.3, 0.25, 0.1]))
    n_leaves = {0: 9, 1: 4, 2: 8, 3: 0}[cls]
    for k in range(n_leaves):
        yaw = 2 * math.pi * k / max(n_leaves, 1) + rng.uniform(-0.3, 0.3)
        y = top + height * (rng.uniform(0.3, 1.0) if cls != 2 else 0.5)
        length = {0: 0.11, 1: 0.08, 2: 0.06}[cls] * rng.uniform(0.8, 1.2)
        width = {0: 0.012, 1: 0.04, 2: 0.022}[cls]
        tilt = {0: -0.5, 1: -0.3, 2: -1.0}[cls] + rng.uniform(-0.25, 0.25)
        rot = _rot(yaw, tilt)
        centre = np.array([0, y, 0]) + rot @ np.array([length, 0, 0])
        prims.append(_prim(ELLIPSOID, centre, [length, {2: 0.015}.get(cls, 0.006), width],
                           np.clip(green * rng.uniform(0.85, 1.15), 0, 1), rot))
    if cls == 3:
        for _ in range(3):
            prims.append(_prim(ELLIPSOID, [rng.uniform(-0.03, 0.03), top + height + rng.uniform(-0.02, 0.03),
                                           rng.uniform(-0.03, 0.03)], [0.06] * 3, green * rng.uniform(0.8, 1.2)))
    zoom = 1.25  # fill the 360-degree frame as the Megascans renders do
    return [(k, c * zoom, sz * zoom, col, r) for k, c, sz, col, r in prims]


def _food(rng, cls):
    prims, y = [], -0.15
    plate = rng.uniform(0.8, 0.95)
    prims.append(_prim(CYLINDER, [0, y, 0], [0.19, 0.008, 0.19], [plate, plate, plate * 0.97]))
    y += 0.008
    if cls == 0:  # burger
        layers = [([0.85, 0.55, 0.25], 0.1, 0.02), ([0.4, 0.22, 0.12], 0.105, 0.015), ([0.95, 0.8, 0.2], 0.108, 0.004),
                  ([0.3, 0.65, 0.2], 0.112, 0.006), ([0.8, 0.15, 0.1], 0.1, 0.008)]
        for col, r, h in layers:
            prims.append(_prim(CYLINDER, [0, y + h, 0], [r, h, r], np.clip(np.array(col) * rng.uniform(0.85, 1.1), 0, 1)))
            y += 2 * h
        prims.append(_prim(ELLIPSOID, [0, y, 0], [0.1, 0.06, 0.1], [0.85, 0.55, 0.25]))
    elif cls == 1:  # cake
        col = rng.uniform([0.6, 0.3, 0.3], [1.0, 0.9, 0.8])
        for r in (0.15, 0.1)[: rng.integers(1, 3)]:
            h = rng.uniform(0.03, 0.045)
            prims.append(_prim(CYLINDER, [0, y + h, 0], [r, h, r], col))
            y += 2 * h
        prims.append(_prim(ELLIPSOID, [0, y + 0.02, 0], [0.022] * 3, [0.75, 0.05, 0.1]))
    elif cls == 2:  # fruit cluster
        for _ in range(int(rng.integers(4, 8))):
            r = rng.uniform(0.03, 0.05)
            ang, rad = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.11)
            prims.append(_prim(ELLIPSOID, [rad * math.cos(ang), y + r + rng.uniform(0, 0.04), rad * math.sin(ang)],
                               [r] * 3, rng.uniform([0.5, 0.1, 0.0], [1.0, 0.9, 0.3])))
    else:  # macarons: stacked flat discs of alternating colours
        cols = rng.uniform(0.4, 1.0, size=(2, 3))
        for k in range(int(rng.integers(3, 6))):
            prims.append(_prim(ELLIPSOID, [0, y + 0.02, 0], [0.07, 0.02, 0.07], cols[k % 2]))
            y += 0.035
    return prims


def _head(rng, _cls):
    skin = np.array([0.92, 0.68, 0.52]) * rng.uniform(0.45, 1.05) + rng.uniform(-0.04, 0.04, 3)
    hair = np.array([0.55, 0.4, 0.25]) * rng.uniform(0.1, 1.2) + rng.uniform(-0.03, 0.03, 3)
    w = rng.uniform(0.055, 0.065)
    prims = [_prim(ELLIPSOID, [0, 0, 0], [w * 1.05, w * 1.3, w], skin),
             _prim(ELLIPSOID, [-0.008, 0.025, 0], [w * 1.02, w * 1.0, w * 1.08], hair),
             _prim(ELLIPSOID, [w * 1.0, -0.005, 0], [0.014, 0.02, 0.01], skin * 0.92),
             _prim(ELLIPSOID, [w * 0.86, -0.042, 0], [0.008, 0.006, 0.02], [0.7, 0.25, 0.25])]
    iris = rng.uniform([0.1, 0.1, 0.05], [0.5, 0.45, 0.4])
    for side in (-1, 1):
        prims.append(_prim(ELLIPSOID, [w * 0.84, 0.012, side * 0.022], [0.011, 0.008, 0.012], [0.95, 0.95, 0.95]))
        prims.append(_prim(ELLIPSOID, [w * 0.93, 0.012, side * 0.022], [0.004, 0.005, 0.005], iris))
    return prims


def _cat(rng, _cls):
    fur = np.clip(np.array([0.85, 0.6, 0.35]) * rng.uniform(0.2, 1.1) + rng.uniform(-0.05, 0.05, 3), 0, 1)
    w = rng.uniform(0.055, 0.065)
    prims = [_prim(ELLIPSOID, [0, 0, 0], [w, w * 0.9, w * 1.1], fur),
             _prim(ELLIPSOID, [w * 0.8, -0.02, 0], [0.03, 0.022, 0.035], np.clip(fur * 1.15, 0, 1)),
             _prim(ELLIPSOID, [w * 0.8 + 0.028, -0.008, 0], [0.006, 0.005, 0.008], [0.85, 0.45, 0.5])]
    eye = rng.uniform([0.4, 0.5, 0.0], [0.8, 0.9, 0.3])
    for side in (-1, 1):
        prims.append(_prim(ELLIPSOID, [w * 0.82, 0.015, side * 0.025], [0.01, 0.009, 0.011], eye))
        prims.append(_prim(ELLIPSOID, [0.0, w * 0.95, side * 0.035], [0.012, 0.035, 0.018], fur * 0.9,
                           _rot_x(side * 0.4)))
    return prims


FAMILIES = {"plants3d": (_plant, 4, "sphere360"), "food3d": (_food, 4, "sphere360"),
            "heads3d": (_head, 0, "frontal"), "cats3d": (_cat, 0, "frontal")}


# ----------------------------------------------------------------------------- poses and rendering
def sample_poses(family: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """[count, 3] (yaw, pitch, 0) from the family's camera distribution."""
    if FAMILIES[family][2] == "sphere360":
        yaw = rng.uniform(-math.pi, math.pi, count)
        pitch = np.arccos(1 - 2 * rng.uniform(0, 1, count))
    else:
        yaw_std, pitch_std = FRONTAL_POSES[family]
        yaw, pitch = rng.normal(0, yaw_std, count), rng.normal(math.pi / 2, pitch_std, count)
    pitch = np.clip(pitch, 1e-5, math.pi - 1e-5)
    return np.stack([yaw, pitch, np.zeros(count)], axis=1).astype(np.float32)


def _pack(scenes: list[list]) -> dict[str, torch.Tensor]:
    p = max(len(s) for s in scenes)
    n = len(scenes)
    kind = np.full((n, p), -1, np.int64)
    centre, size, color, rot = np.zeros((n, p, 3)), np.ones((n, p, 3)), np.zeros((n, p, 3)), np.tile(np.eye(3), (n, p, 1, 1))
    for i, scene in enumerate(scenes):
        for j, (k, c, s, col, r) in enumerate(scene):
            kind[i, j], centre[i, j], size[i, j], color[i, j], rot[i, j] = k, c, s, col, r
    as_t = lambda a: torch.from_numpy(a).float()  # noqa: E731
    return {"kind": torch.from_numpy(kind), "centre": as_t(centre), "size": as_t(size), "color": as_t(color),
            "rot": as_t(rot)}


def _intersect(kind, o, d):
    """Nearest hit t [M] (inf if none) and local normal [M, 3] of unit primitives, rays in local frame."""
    inf = torch.full(o.shape[:-1], math.inf)
    t_out, n_out = inf.clone(), torch.zeros_like(o)
    ell = kind == ELLIPSOID
    if ell.any():  # ellipsoid scaled to the unit sphere
        oe, de = o[ell], d[ell]
        a, b, c = (de * de).sum(-1), 2 * (oe * de).sum(-1), (oe * oe).sum(-1) - 1
        disc = b * b - 4 * a * c
        t = (-b - disc.clamp_min(0).sqrt()) / (2 * a)
        t = torch.where((disc > 0) & (t > 0), t, inf[ell])
        t_out[ell], n_out[ell] = t, oe + t.nan_to_num(0, 0, 0)[:, None].clamp_max(1e3) * de
    cyl = kind == CYLINDER
    if cyl.any():  # unit cylinder x^2 + z^2 <= 1, |y| <= 1
        oc, dc = o[cyl], d[cyl]
        a = (dc[:, 0] ** 2 + dc[:, 2] ** 2).clamp_min(1e-12)
        b = 2 * (oc[:, 0] * dc[:, 0] + oc[:, 2] * dc[:, 2])
        c = oc[:, 0] ** 2 + oc[:, 2] ** 2 - 1
        disc = b * b - 4 * a * c
        t_side = (-b - disc.clamp_min(0).sqrt()) / (2 * a)
        y = oc[:, 1] + t_side * dc[:, 1]
        t_side = torch.where((disc > 0) & (t_side > 0) & (y.abs() <= 1), t_side, inf[cyl])
        n_side = (oc + t_side.nan_to_num(0, 0, 0)[:, None].clamp_max(1e3) * dc) * torch.tensor([1.0, 0.0, 1.0])
        dy = torch.where(dc[:, 1].abs() < 1e-9, torch.full_like(dc[:, 1], 1e-9), dc[:, 1])
        t_best, n_best = t_side, n_side
        for sign in (-1.0, 1.0):
            t = (sign - oc[:, 1]) / dy
            px, pz = oc[:, 0] + t * dc[:, 0], oc[:, 2] + t * dc[:, 2]
            t = torch.where((t > 0) & (px * px + pz * pz <= 1), t, inf[cyl])
            better = t < t_best
            t_best = torch.where(better, t, t_best)
            n_best = torch.where(better[:, None], torch.tensor([0.0, sign, 0.0]).expand_as(oc), n_best)
        t_out[cyl], n_out[cyl] = t_best, n_best
    return t_out, n_out


def render_scenes(scenes: list[list], poses: np.ndarray, *, resolution: int, camera: str,
                  background: np.ndarray) -> np.ndarray:
    """uint8 [N, 3, R, R] renders of ``scenes`` at ``poses`` with the EpiGRAF camera preset ``camera``.

    Per primitive only the rays passing within its bounding sphere are intersected exactly.
    """
    cam = CAMERA_PRESETS[camera]
    out = np.empty((len(scenes), 3, resolution, resolution), np.uint8)
    light = torch.tensor(LIGHT, dtype=torch.float32)
    res = resolution * SUPERSAMPLE
    for lo in range(0, len(scenes), CHUNK_IMAGES):
        hi = min(lo + CHUNK_IMAGES, len(scenes))
        pk = _pack(scenes[lo:hi])
        origins, dirs = camera_rays(torch.from_numpy(poses[lo:hi]).float(), fov=cam["fov"], radius=cam["radius"],
                                    resolution=res)
        n, m = dirs.shape[:2]
        flat_dirs = dirs.reshape(n * m, 3)
        best_t = torch.full((n * m,), math.inf)
        rgb = torch.from_numpy(background[lo:hi]).float().repeat_interleave(m, dim=0)
        bound2 = pk["size"].square().sum(-1)  # [n, P] squared bounding-sphere radii
        for j in range(pk["kind"].shape[1]):
            to_centre = pk["centre"][:, j] - origins  # [n, 3]
            along = torch.bmm(dirs, to_centre[:, :, None])[..., 0]  # [n, m]
            miss2 = to_centre.square().sum(-1, keepdim=True) - along.square()
            near = (miss2 <= bound2[:, j:j + 1]) & (pk["kind"][:, j:j + 1] >= 0)
            cand = torch.nonzero(near.flatten()).flatten()
            if cand.numel() == 0:
                continue
            img = torch.div(cand, m, rounding_mode="floor")
            rot, size = pk["rot"][img, j], pk["size"][img, j]
            d_world = flat_dirs[cand]
            o_local = (-to_centre[img])[:, None].bmm(rot)[:, 0] / size  # R^T (o - c) / size
            d_local = d_world[:, None].bmm(rot)[:, 0] / size
            t, n_local = _intersect(pk["kind"][img, j], o_local, d_local)
            hit = t < best_t[cand]
            idx, img_hit = cand[hit], img[hit]
            normal = F.normalize((n_local[hit] / size[hit])[:, None].bmm(rot[hit].transpose(1, 2))[:, 0], dim=-1)
            shade = AMBIENT + (1 - AMBIENT) * (normal @ light).clamp_min(0)
            best_t[idx] = t[hit]
            rgb[idx] = pk["color"][img_hit, j] * shade[:, None]
        image = rgb.reshape(n, res, res, 3).permute(0, 3, 1, 2)
        image = F.avg_pool2d(image, SUPERSAMPLE)
        out[lo:hi] = (image.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    return out


def make_objects3d(family: str, *, count: int, resolution: int, seed: int, num_classes: int | None = None) -> Generated:
    """``count`` renders of one family: images uint8 [N, 3, R, R], labels, poses [N, 3] (extra array)."""
    if family not in FAMILIES:
        raise DatasetError(f"unknown 3D stand-in family {family!r}; use one of {sorted(FAMILIES)}")
    build, max_classes, camera = FAMILIES[family]
    k = max_classes if num_classes is None else int(num_classes)
    if k > max_classes or (max_classes and k < 1) or (not max_classes and k):
        raise DatasetError(f"{family}: num_classes must be {'1..' + str(max_classes) if max_classes else 0}, got {k}")
    rng = np.random.default_rng([int(seed), 0x3D])
    labels = rng.integers(0, k, count) if k else None
    scenes = [build(rng, int(labels[i]) if k else 0) for i in range(count)]
    poses = sample_poses(family, count, rng)
    if camera == "sphere360":
        background = np.ones((count, 3))
    else:
        background = rng.uniform([0.1, 0.1, 0.1], [0.7, 0.7, 0.75], size=(count, 3))
    images = render_scenes(scenes, poses, resolution=resolution, camera=camera, background=background)
    return Generated(images=images, labels=None if labels is None else labels.astype(np.int64), num_classes=k,
                     extra_arrays={"poses": poses},
                     meta={"family": family, "camera": camera, "pose_format": "yaw,pitch,roll (rad)"})


def multiview_objects3d(family: str, *, count: int, resolution: int, seed: int, cameras: np.ndarray,
                        num_classes: int | None = None) -> np.ndarray:
    """uint8 [count, V, 3, R, R]: the first ``count`` scenes ``make_objects3d(family, seed=seed)`` draws, each
    rendered at every one of ``cameras`` [V, 3] (yaw, pitch, roll) with its own background: real 3D objects
    seen from V views, the reference of a multi-view consistency metric."""
    if family not in FAMILIES:
        raise DatasetError(f"unknown 3D stand-in family {family!r}; use one of {sorted(FAMILIES)}")
    build, max_classes, camera = FAMILIES[family]
    k = max_classes if num_classes is None else int(num_classes)
    rng = np.random.default_rng([int(seed), 0x3D])  # the draws of make_objects3d, in its order
    labels = rng.integers(0, k, count) if k else None
    scenes = [build(rng, int(labels[i]) if k else 0) for i in range(count)]
    sample_poses(family, count, rng)
    background = (np.ones((count, 3)) if camera == "sphere360"
                  else rng.uniform([0.1, 0.1, 0.1], [0.7, 0.7, 0.75], size=(count, 3)))
    cams = np.asarray(cameras, np.float32)
    views = len(cams)
    images = render_scenes([s for s in scenes for _ in range(views)], np.tile(cams, (count, 1)),
                           resolution=resolution, camera=camera, background=np.repeat(background, views, axis=0))
    return images.reshape(count, views, *images.shape[1:])


def make_plants3d(**kw) -> Generated:
    return make_objects3d("plants3d", **kw)


def make_food3d(**kw) -> Generated:
    return make_objects3d("food3d", **kw)


def make_heads3d(**kw) -> Generated:
    return make_objects3d("heads3d", **kw)


def make_cats3d(**kw) -> Generated:
    return make_objects3d("cats3d", **kw)
