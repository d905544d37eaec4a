"""Fig 5's geometry extraction: voxel grid layout, marching cubes on an analytic field, G's density volume."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganrepro.papers.epigraf.models.generator import EpiGRAFGenerator
from ganrepro.papers.epigraf.models.triplane import sample_triplanes
from ganrepro.papers.epigraf.geometry import density_volume, mesh_from_density, voxel_points


def test_voxel_points_reshape_to_ijk_axes():
    res, h = 5, 0.5
    pts = voxel_points(res, h).reshape(res, res, res, 3)
    axis = torch.linspace(-h, h, res)
    assert torch.equal(pts[1, 2, 3], torch.stack([axis[1], axis[2], axis[3]]))
    assert pts.min() == -h and pts.max() == h


@pytest.mark.parametrize("res", [32, 48])
def test_marching_cubes_on_a_radial_field_finds_the_sphere_the_percentile_implies(res):
    h = 0.4
    p = voxel_points(res, h).numpy().reshape(res, res, res, 3)
    sigma = np.exp(-np.linalg.norm(p, axis=-1) / 0.1)  # decreasing with radius
    verts, faces, level = mesh_from_density(sigma, h, percentile=97.5)
    radii = np.linalg.norm(verts, axis=1)
    # 2.5% of the cube's volume lies inside the surface: r = (0.025 * (2h)^3 / (4/3 pi))^(1/3)
    expected = (0.025 * (2 * h) ** 3 / (4 / 3 * math.pi)) ** (1 / 3)
    spacing = 2 * h / (res - 1)
    assert abs(radii.mean() - expected) < spacing and radii.std() < spacing / 2
    assert len(faces) > 100 and faces.max() < len(verts)


def test_a_constant_field_has_no_surface():
    assert mesh_from_density(np.ones((8, 8, 8)), 0.5) is None


def test_density_volume_is_softplus_of_the_decoders_raw_density_at_the_voxels():
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=16, z_dim=8, w_dim=8, plane_resolution=8, feat_dim=4, channel_base=64,
                         channel_max=8, mlp_hidden=8, n_coarse=4, n_fine=4, patch_resolution=8).eval()
    z = torch.randn(2, 8)
    res = 6
    sigma = density_volume(G, z, None, res, chunk=50)  # chunks that do not divide res^3
    assert sigma.shape == (2, res, res, res) and (sigma > 0).all()
    with torch.no_grad():
        planes = G.planes(G.mapping(z, None), "const")
        cube = G.camera["cube_scale"]
        point = voxel_points(res, cube).reshape(res, res, res, 3)[1, 4, 2]
        raw = G.decoder(sample_triplanes(planes[1:2], point.view(1, 1, 3), cube))[0, 0, -1]
    assert sigma[1, 1, 4, 2] == pytest.approx(F.softplus(raw).item(), rel=1e-5)
