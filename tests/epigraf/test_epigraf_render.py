"""EpiGRAF camera, rays, tri-plane lookup and volume rendering against analytic answers."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganrepro.papers.epigraf.models.camera import CAMERA_PRESETS, cam2world, camera_rays, frustum_inside_cube
from ganrepro.papers.epigraf.models.render import composite, render_rays, sample_pdf
from ganrepro.papers.epigraf.models.triplane import sample_triplanes


def random_angles(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([(torch.rand(n, generator=g) - 0.5) * 2 * math.pi,
                        torch.acos(1 - 2 * torch.rand(n, generator=g)), torch.zeros(n)], dim=1)


@pytest.mark.parametrize("radius", [1.0, 2.5])
def test_ray_origins_on_sphere_looking_at_centre(radius):
    angles = random_angles(64)
    origins, dirs = camera_rays(angles, fov=20.0, radius=radius, resolution=5)
    assert torch.allclose(origins.norm(dim=1), torch.full((64,), radius), atol=1e-5)
    centre = dirs[:, 12]  # middle pixel of 5 x 5
    assert torch.allclose(centre, -origins / radius, atol=1e-5)
    assert torch.allclose(dirs.norm(dim=-1), torch.ones(64, 25), atol=1e-5)
    rot = cam2world(angles, radius)[:, :3, :3]
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(64, 3, 3), atol=1e-5)
    # yaw 0, pitch pi/2 is on +x; the top image row looks up (+y), the left column to -z... (right-handed)
    o, d = camera_rays(torch.tensor([[0.0, math.pi / 2, 0.0]]), fov=20.0, radius=1.0, resolution=3)
    assert torch.allclose(o, torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-6)
    assert d[0, 1, 1] > 0 and d[0, 7, 1] < 0  # row 0 up, row 2 down
    # the angle between corner rays of a row spans the field of view
    half = math.degrees(math.atan2(d[0, 5, 2].abs(), -d[0, 5, 0]))
    assert half == pytest.approx(10.0, abs=1e-3)


@pytest.mark.parametrize("kind", sorted(CAMERA_PRESETS))
def test_frustum_inside_the_scaled_cube(kind):
    cam = CAMERA_PRESETS[kind]
    kw = dict(fov=cam["fov"], near=cam["near"], far=cam["far"], radius=cam["radius"])
    assert frustum_inside_cube(cube_scale=cam["cube_scale"], **kw)
    assert not frustum_inside_cube(cube_scale=0.5 * cam["cube_scale"], **kw)


@pytest.mark.parametrize("sigma", [0.5, 3.0, 20.0])
def test_weights_on_constant_density_equal_analytic_transmittance(sigma):
    depths = torch.linspace(0.5, 1.5, 33).expand(4, 33)
    raw = torch.full((4, 33), float(np.log(np.expm1(sigma))))  # softplus^-1(sigma)
    out = composite(torch.ones(4, 33, 3), raw, depths)
    w = out["weights"][0]
    t = depths[0]
    # the weight of interval [t_i, t_i+1) is T(t_i) - T(t_i+1), T(t) = exp(-sigma (t - t_0))
    expected = torch.exp(-sigma * (t[:-1] - t[0])) - torch.exp(-sigma * (t[1:] - t[0]))
    assert torch.allclose(w[:-1], expected, atol=1e-5)
    # the total over [t_0, t_k] equals 1 - exp(-sigma d); the last interval (1e10) absorbs the rest
    assert torch.allclose(w[:-1].sum(), torch.tensor(1 - math.exp(-sigma * 1.0)), atol=1e-5)
    assert torch.allclose(out["opacity"], torch.ones(4), atol=1e-5)
    # white background: an empty field renders white, a black opaque one black
    empty = composite(torch.zeros(1, 33, 3), torch.full((1, 33), -60.0), depths[:1], white_back=True)
    assert torch.allclose(empty["rgb"], torch.ones(1, 3), atol=1e-5)


def test_inverse_cdf_matches_a_known_pdf():
    torch.manual_seed(0)
    bins = torch.linspace(0.0, 1.0, 41).expand(2, 41).contiguous()
    centres = 0.5 * (bins[0, 1:] + bins[0, :-1])
    weights = (2 * centres).expand(2, 40).contiguous()  # pdf 2x on [0, 1]: CDF x^2
    samples = sample_pdf(bins, weights, 5000).numpy()
    for row in samples:
        assert stats.kstest(row, lambda x: np.clip(x, 0, 1) ** 2).pvalue > 0.01
        assert stats.kstest(row, "uniform").pvalue < 1e-6
    det = sample_pdf(bins[:1], weights[:1], 11, deterministic=True)[0]
    assert torch.allclose(det, torch.sqrt(torch.linspace(0, 1, 11)), atol=5e-3)


def test_importance_samples_concentrate_on_a_surface():
    """A thin opaque slab at depth 1.0: the fine depths gather around it, the render is its colour."""
    def field(points):
        dist = points[..., 0:1] - 0.0  # slab around x = 0, camera on +x at radius 1 -> depth 1
        sigma = torch.where(dist.abs() < 0.025, torch.tensor(1e3), torch.tensor(-30.0))
        return torch.cat([torch.tensor([0.2, 0.4, 0.6]).expand(*points.shape[:-1], 3), sigma], dim=-1)

    torch.manual_seed(0)
    origins, dirs = camera_rays(torch.tensor([[0.0, math.pi / 2, 0.0]]), fov=5.0, radius=1.0, resolution=4)
    out = render_rays(field, origins, dirs, near=0.5, far=1.5, n_coarse=32, n_fine=32, perturb=True)
    assert torch.allclose(out["rgb"], torch.tensor([0.2, 0.4, 0.6]).expand(1, 16, 3), atol=1e-3)
    assert out["depth"].sub(0.975).abs().max() < 1 / 31  # front face, within one coarse interval


def test_triplane_lookup_averages_three_bilinear_planes():
    c = 2
    h = 9
    grid = torch.linspace(-1, 1, h)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")  # plane pixel (row, col) <-> (v, u) in [-1, 1]
    planes = torch.stack([xx, yy, 2 * xx, -yy, xx + yy, xx * 0 + 1], dim=0)[None]  # [1, 3 * c, h, h]
    points = (torch.rand(1, 50, 3) * 2 - 1) * 0.4
    feats = sample_triplanes(planes, points, cube_scale=0.4)
    p = points[0] / 0.4
    # plane k reads its (u, v) = coords PLANE_AXES[k]; linear textures are read exactly by bilinear
    expected = torch.stack([(p[:, 0] + 2 * p[:, 0] + (p[:, 1] + p[:, 2])) / 3,
                            (p[:, 1] - p[:, 2] + 1) / 3], dim=1)
    assert torch.allclose(feats[0], expected, atol=1e-5)
    outside = sample_triplanes(planes, torch.full((1, 1, 3), 10.0), cube_scale=0.4)
    assert torch.allclose(outside, torch.zeros(1, 1, c))  # zero padding outside the cube
