"""EpiGRAF's camera and patch-ray model (the reference's ``rendering.py`` conventions).

- Camera on a sphere of ``radius`` around the origin, looking at the origin, world up = +y:
  ``origin = radius * (sin(pitch) cos(yaw), cos(pitch), sin(pitch) sin(yaw))``; yaw in [-pi, pi]
  (0 = frontal), pitch in [0, pi] (pi/2 = equator), radians; pitch is clamped to (1e-5, pi - 1e-5).
  Poses are stored as the reference's ``camera_angles``: ``[N, 3]`` = (yaw, pitch, roll), roll unused.
- Pixel grid in NDC: x = linspace(-1, 1, w) over columns, y = linspace(1, -1, h) over rows (image
  memory layout, y up). Camera-space direction ``normalise(x, y, -1 / tan(fov / 2))``.
- A patch of scale s and offset (dx, dy) (fractions of the full image, in [0, 1 - s]) maps the
  r x r grid to ``x' = (x + 1) s - 1 + 2 dx`` (same for y). Its pixels are exactly the points
  the real patch is read at (``patch_grid`` serves both the rays and ``extract_real_patches``).

Patch parameters are one tensor ``[N, 3]`` = (s, dx, dy) (square patches, one scale for both axes).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

PITCH_EPS = 1e-5

# Per dataset kind (reference configs): field of view (degrees), ray near/far, camera radius,
# tri-plane cube half-size, white background.
CAMERA_PRESETS: dict[str, dict] = {
    "frontal": dict(fov=12.0, near=0.88, far=1.12, radius=1.0, cube_scale=0.2, white_back=False),
    "sphere360": dict(fov=30.0, near=0.75, far=1.25, radius=1.0, cube_scale=0.475, white_back=True),
}


def ndc_grid(resolution: int, patch: torch.Tensor | None = None, *, device=None) -> torch.Tensor:
    """NDC pixel coordinates (x right, y up) of an r x r grid: ``[N | 1, r, r, 2]``.

    Without ``patch`` the full image grid ``[1, r, r, 2]``; with ``patch`` ``[N, 3]`` = (s, dx, dy)
    the grid of each patch inside the full image.
    """
    device = patch.device if patch is not None else device
    xs = torch.linspace(-1.0, 1.0, resolution, device=device)
    ys = torch.linspace(1.0, -1.0, resolution, device=device)
    grid = torch.stack([xs[None, :].expand(resolution, -1), ys[:, None].expand(-1, resolution)], dim=-1)[None]
    if patch is None:
        return grid
    s, offsets = patch[:, 0].view(-1, 1, 1, 1), patch[:, 1:3].view(-1, 1, 1, 2)
    return (grid + 1.0) * s - 1.0 + 2.0 * offsets


def ndc_to_grid_sample(grid: torch.Tensor) -> torch.Tensor:
    """NDC (y up) -> ``F.grid_sample`` coordinates (y down, align_corners=True)."""
    return torch.stack([grid[..., 0], -grid[..., 1]], dim=-1)


def camera_origins(angles: torch.Tensor, radius: float) -> torch.Tensor:
    """[N, 3] camera positions for ``angles`` [N, >=2] (yaw, pitch, ...)."""
    yaw, pitch = angles[:, 0], angles[:, 1].clamp(PITCH_EPS, math.pi - PITCH_EPS)
    return radius * torch.stack([pitch.sin() * yaw.cos(), pitch.cos(), pitch.sin() * yaw.sin()], dim=1)


def cam2world(angles: torch.Tensor, radius: float) -> torch.Tensor:
    """[N, 4, 4] camera-to-world matrices (camera looks down its -z axis at the origin, +y up)."""
    origins = camera_origins(angles, radius)
    forward = F.normalize(-origins, dim=1)
    up0 = torch.tensor([0.0, 1.0, 0.0], device=angles.device, dtype=origins.dtype).expand_as(forward)
    left = F.normalize(torch.cross(up0, forward, dim=1), dim=1)
    up = F.normalize(torch.cross(forward, left, dim=1), dim=1)
    mat = torch.eye(4, device=angles.device, dtype=origins.dtype).repeat(len(angles), 1, 1)
    mat[:, :3, :3] = torch.stack([-left, up, -forward], dim=-1)
    mat[:, :3, 3] = origins
    return mat


def camera_rays(angles: torch.Tensor, *, fov: float, radius: float, resolution: int,
                patch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """World-space rays of the full image (``patch=None``) or of each patch.

    Returns (origins [N, 3], unit directions [N, r * r, 3]), pixels in row-major image order.
    """
    n = len(angles)
    grid = ndc_grid(resolution, patch, device=angles.device).expand(n, -1, -1, -1).reshape(n, -1, 2)
    z = torch.full_like(grid[..., :1], -1.0 / math.tan(math.radians(fov) / 2))
    dirs_cam = F.normalize(torch.cat([grid, z], dim=-1), dim=-1)
    c2w = cam2world(angles, radius)
    return c2w[:, :3, 3], dirs_cam @ c2w[:, :3, :3].transpose(1, 2)


def frustum_inside_cube(*, fov: float, near: float, far: float, radius: float, cube_scale: float,
                        steps: int = 64) -> bool:
    """True if the view frustum's corners (near and far) stay inside [-cube_scale, cube_scale]^3
    for cameras all over the sphere (the reference's check of a dataset's camera settings)."""
    yaw, pitch = torch.meshgrid(torch.linspace(-math.pi, math.pi, steps), torch.linspace(0, math.pi, steps),
                                indexing="ij")
    angles = torch.stack([yaw.flatten(), pitch.flatten()], dim=1)
    origins, dirs = camera_rays(angles, fov=fov, radius=radius, resolution=2)
    depths = torch.tensor([near, far])
    points = origins[:, None, None] + dirs[:, :, None] * depths[None, None, :, None]
    return bool(points.abs().max() <= cube_scale)


def camera_raw_encoding(camera: torch.Tensor) -> torch.Tensor:
    """The reference's raw-angle camera input (D's, and G's mapping when pose-conditioned): yaw, pitch ->
    sign(a) * (|a| mod 2 pi) / (2 pi)."""
    a = camera[:, :2]
    return a.sign() * ((a.abs() % (2 * math.pi)) / (2 * math.pi))
