"""NeRF++ background separation: the inverse-sphere points against the ray geometry, compositing
behind the foreground, the ws it reads, and the option's validation."""

import math

import pytest
import torch

from ganrepro.errors import ConfigError
from ganrepro.papers.epigraf.models import EpiGRAFGenerator
from ganrepro.papers.epigraf.models.background import SphereBackground, inverse_sphere_points
from ganrepro.papers.epigraf.models.camera import camera_rays
from ganrepro.models.registry import get_family

from test_epigraf_networks import TINY_G, cams, patches

BG = dict(background="sphere", bg_width=8, bg_blocks=1, bg_steps=4)


def rays(n=3, p=50, seed=0, radius=1.0):
    g = torch.Generator().manual_seed(seed)
    origins = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1) * radius
    dirs = torch.nn.functional.normalize(torch.randn(n, p, 3, generator=g), dim=-1)
    return origins, dirs


@pytest.mark.parametrize("radius", [1.0, 0.6, 0.0])
def test_inverse_sphere_point_is_where_the_ray_is_at_distance_one_over_inv_depth(radius):
    origins, dirs = rays(radius=radius)
    inv = torch.tensor([1.0, 0.7, 0.3, 0.05]).expand(3, 50, 4)
    pts = inverse_sphere_points(origins, dirs, inv)
    assert pts.shape == (3, 50, 4)[:2] + (4, 4) and torch.isfinite(pts).all()
    assert torch.allclose(pts[..., 3], inv)
    # analytic: the forward root t of |o + t d| = r, r = 1 / inv_depth; the point's direction
    o = origins[:, None, None, :]
    d = dirs[:, :, None, :]
    r = 1.0 / inv
    b = (o * d).sum(-1)
    t = -b + (b.square() - (o.square().sum(-1) - r.square())).sqrt()
    expected = torch.nn.functional.normalize(o + t[..., None] * d, dim=-1)
    assert torch.allclose(pts[..., :3], expected, atol=1e-4)


def test_inverse_sphere_points_at_infinity_and_through_the_centre():
    origins, dirs = rays()
    pts = inverse_sphere_points(origins, dirs, torch.zeros(3, 50, 1))
    assert torch.allclose(pts[..., 0, :3], dirs, atol=1e-5)  # inverse depth 0: the ray's direction
    o = torch.tensor([[0.0, 1.0, 0.0]])
    through = inverse_sphere_points(o, -o[:, None], torch.tensor([[[1.0, 0.5]]]))  # ray through the centre
    assert torch.isfinite(through).all()
    assert torch.allclose(through[0, 0, :, :3], torch.tensor([[0.0, -1.0, 0.0]] * 2), atol=1e-5)


def test_background_inverse_depths_span_start_to_zero_and_jitter_in_their_bins():
    bg = SphereBackground(8, width=8, blocks=2, steps=5, start=0.8)
    assert bg.num_ws == 5  # (1 layer + output) + (2 layers + output), as the reference's 2 blocks
    fixed = bg.inverse_depths((1, 1), perturb=False)[0, 0]
    assert torch.allclose(fixed, torch.linspace(0.8, 0.0, 5))
    torch.manual_seed(0)
    jit = bg.inverse_depths((2, 100), perturb=True)
    assert (jit <= 0.8 + 1e-6).all() and (jit >= 0).all()
    assert (jit[..., 1:] <= jit[..., :-1]).all()  # still ordered far-to-farther
    assert not torch.allclose(jit[0, 0], fixed)


def _generator(density_bias: float, **extra):
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=16, **TINY_G, **BG, **extra).eval()
    with torch.no_grad():
        G.decoder.fc1.weight.zero_()
        G.decoder.fc1.bias[:3] = 0.5
        G.decoder.fc1.bias[-1] = density_bias
    return G


def _render_parts(G, z):
    ws = G.mapping(z, None)
    planes = G.planes(ws, "const")
    img = G.render(planes, cams(len(z)), resolution=8, perturb=False, ws=ws)
    origins, dirs = camera_rays(cams(len(z)), fov=G.camera["fov"], radius=G.camera["radius"], resolution=8)
    bg = G.background(ws[:, G.synthesis.num_ws:], origins, dirs, perturb=False)
    return ws, img, bg.transpose(1, 2).reshape(len(z), 3, 8, 8)


def test_empty_foreground_shows_the_background_and_an_opaque_one_hides_it():
    z = torch.randn(2, 16)
    G = _generator(-40.0)  # softplus(-40) ~ 0: nothing in front
    ws, img, bg = _render_parts(G, z)
    assert torch.allclose(img, bg, atol=1e-5) and bg.abs().max() > 1e-3
    G = _generator(400.0)  # density 400 over the whole near-far interval (0.24): opaque
    ws, img, _ = _render_parts(G, z)
    assert torch.allclose(img, torch.full_like(img, 0.5), atol=1e-5)
    with torch.no_grad():
        for p in G.background.parameters():
            p.add_(torch.randn_like(p))
    _, img2, _ = _render_parts(G, z)
    assert torch.allclose(img, img2, atol=1e-5)


def test_background_reads_its_own_ws_after_the_synthesis_networks():
    G = _generator(0.0)
    assert G.num_ws == G.synthesis.num_ws + G.background.num_ws == G.synthesis.num_ws + 2
    z = torch.randn(2, 16)
    ws = G.mapping(z, None)
    assert ws.shape[1] == G.num_ws
    planes = G.planes(ws, "const")
    base = G.render(planes, cams(2), resolution=8, perturb=False, ws=ws)
    moved = ws.clone()
    moved[:, G.synthesis.num_ws:] += 1.0
    assert torch.allclose(G.planes(moved, "const"), planes)       # the planes ignore the background's ws
    assert not torch.allclose(G.render(planes, cams(2), resolution=8, perturb=False, ws=moved), base)


def test_background_generator_trains_patchwise():
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=16, **TINY_G, **BG).train()
    G.density_noise_std = 0.5
    out = G(torch.randn(2, 16), None, cams(2), patches(2))
    assert out.shape == (2, 3, 8, 8) and torch.isfinite(out).all()
    out.square().mean().backward()
    for p in (G.background.blocks[0]["layers"][0].conv.weight, G.background.blocks[-1]["out"].conv.weight,
              G.decoder.fc0.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_background_option_validation():
    family = get_family("epigraf")
    size = dict(resolution=64, img_channels=3, num_classes=0)
    small = {"family": "epigraf", "plane_resolution": 8, "g_channel_base": 64, "d_channel_base": 64, "hyper_dim": 16}
    G, _ = family.build({**small, "background": "none"}, **size)
    assert G.background is None and G.num_ws == G.synthesis.num_ws
    with pytest.raises(ConfigError, match="white background"):
        family.build({**small, "background": "sphere", "camera": "sphere360"}, **size)
    with pytest.raises(ConfigError, match="none or sphere"):
        family.build({**small, "background": "plane"}, **size)
    scaled = family.scale_knobs({"family": "epigraf", "background": "sphere"}, resolution=32, paper_resolution=512,
                                scale={"width_divisor": 24, "min_width": 16, "z_dim_max": 64})
    assert scaled["background"] == "sphere" and scaled["bg_steps"] == 4 and scaled["bg_width"] >= 16
    assert math.isclose(scaled["bg_start"], 1.0)
