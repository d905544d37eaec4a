"""Fig 5: the geometry a tri-plane generator learned, as the official ``scripts/extract_geometry.py``
extracts it: the density field sampled on a voxel grid spanning the tri-plane cube, marching cubes at
the 97.5th percentile of the densities, the mesh rendered to PNG.

CHOICE: scikit-image's ``marching_cubes`` (the official script uses PyMCubes; the paper names
scikit-image and PyVista) and a matplotlib ``Poly3DCollection`` rendering, Lambert-shaded by the face
normals, off-screen (PyVista and VTK are not dependencies of the project).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganrepro.papers.epigraf.models.triplane import sample_triplanes

THRESH_PERCENTILE = 97.5  # configs/scripts/extract_geometry.yaml of the official code


def voxel_points(res: int, half_extent: float) -> torch.Tensor:
    """[res^3, 3] voxel centres of the cube [-half_extent, half_extent]^3 in (i, j, k) order, so that ``values.reshape(res, res, res)[i, j, k]`` is the point (x_i, y_j, z_k)."""
    axis = torch.linspace(-half_extent, half_extent, res)
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)


@torch.no_grad()
def density_volume(G, z: torch.Tensor, c: torch.Tensor | None, res: int, chunk: int = 32768) -> np.ndarray:
    """[N, res, res, res] densities softplus(raw) of G's field for latents ``z`` (noise-free, no
    truncation), on the voxel grid of the tri-plane cube."""
    ws = G.mapping(z, G.mapping_input(c, None, len(z), z.device), update_w_avg=False)  # pose-conditioned G: frontal
    planes = G.planes(ws, "const")
    cube = G.camera["cube_scale"]
    points = voxel_points(res, cube).to(z.device)
    out = []
    for i in range(len(z)):
        raw = [G.decoder(sample_triplanes(planes[i:i + 1], points[None, j:j + chunk], cube))[0, :, -1]
               for j in range(0, len(points), chunk)]
        out.append(F.softplus(torch.cat(raw)).reshape(res, res, res).cpu().numpy())
    return np.stack(out)


def mesh_from_density(sigma: np.ndarray, half_extent: float, percentile: float = THRESH_PERCENTILE):
    """(vertices [V, 3] in world units, faces [F, 3], level) of the iso-surface at the ``percentile``-th
    percentile of ``sigma`` [res, res, res]; None when the field is constant (nothing to extract)."""
    from skimage.measure import marching_cubes

    level = float(np.percentile(sigma, percentile))
    if not sigma.min() < level < sigma.max():
        return None
    res = sigma.shape[0]
    spacing = (2 * half_extent / (res - 1),) * 3
    verts, faces, _, _ = marching_cubes(sigma, level=level, spacing=spacing)
    return verts - half_extent, faces, level


def draw_mesh(ax, verts: np.ndarray, faces: np.ndarray, half_extent: float, *, elev: float = 15, azim: float = 30,
              color=(0.75, 0.75, 0.8)) -> None:
    """Lambert-shaded triangles on a 3D matplotlib axis (light from the viewer's upper left)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    tris = verts[faces]
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    light = np.array([-0.4, -0.6, 0.7])
    shade = 0.25 + 0.75 * np.abs(normals @ (light / np.linalg.norm(light)))
    colors = np.clip(np.asarray(color)[None] * shade[:, None], 0, 1)
    # world up is +y and the frontal camera sits at +x (papers/epigraf/models/camera.py): plot (x, z, y), so the
    # plot's z is up and azim 0 looks from the frontal camera
    ax.add_collection3d(Poly3DCollection(tris[:, :, [0, 2, 1]], facecolors=colors, edgecolor="none"))
    for set_lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        set_lim(-half_extent, half_extent)
    ax.view_init(elev=elev, azim=azim)
    ax.set_axis_off()
