"""EpiGRAF patch sampling (Eq. 3-5) and real-patch extraction on the rays' grid."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganrepro.papers.epigraf.models.camera import camera_rays
from ganrepro.papers.epigraf.patches import (beta_at, extract_real_patches, group_ids, sample_patch_params,
                                             scale_cdf, scale_pdf, smin_at)
from ganrepro.models.stylegan2 import MinibatchStd


@pytest.mark.parametrize("schedule,value,min_scale", [("beta", 0.8, 0.125), ("beta", 0.3, 0.25),
                                                      ("uniform", 0.125, 0.125), ("uniform", 0.6, 0.25)])
def test_scale_samplers_match_their_distribution(schedule, value, min_scale):
    torch.manual_seed(0)
    p = sample_patch_params(4000, schedule=schedule, value=value, min_scale=min_scale, group_size=1)
    s = p[:, 0].numpy().astype(np.float64)
    assert stats.kstest(s, lambda x: scale_cdf(x, schedule, value, min_scale)).pvalue > 0.01
    # a wrong distribution is rejected (the test can fail)
    wrong = ("uniform", min_scale) if schedule == "beta" else ("beta", 0.8)
    assert stats.kstest(s, lambda x: scale_cdf(x, wrong[0], wrong[1], min_scale)).pvalue < 1e-3
    # offsets uniform in [0, 1 - s]
    frac = (p[:, 1:] / (1 - p[:, :1]).clamp_min(1e-6)).numpy().ravel()
    assert stats.kstest(frac[np.isfinite(frac)], "uniform").pvalue > 0.01
    assert (p[:, 1:] >= 0).all() and (p[:, 1:] <= 1 - p[:, :1] + 1e-6).all()


def test_pdf_matches_scipy_and_cdf():
    s = np.linspace(0.13, 0.99, 50)
    for value in (0.8, 0.2, 1.0):
        ref = stats.beta(1, value, loc=0.125, scale=0.875)
        assert np.allclose(scale_pdf(s, "beta", value, 0.125), ref.pdf(s))
        assert np.allclose(scale_cdf(s, "beta", value, 0.125), ref.cdf(s))
    ref = stats.uniform(0.5, 0.5)
    assert np.allclose(scale_pdf(s, "uniform", 0.5, 0.125), ref.pdf(s))
    assert np.allclose(scale_cdf(s, "uniform", 0.5, 0.125), ref.cdf(s))


def test_schedules_anneal_linearly():
    assert beta_at(0, 10000) == pytest.approx(0.001) and beta_at(5000, 10000) == pytest.approx(0.4005)
    assert beta_at(20000, 10000) == 0.8
    assert smin_at(0, 1000, 0.125) == 1.0 and smin_at(500, 1000, 0.125) == pytest.approx(0.5625)
    assert smin_at(1e6, 1000, 0.125) == 0.125
    torch.manual_seed(0)  # beta ~ 0 puts every patch at full scale
    assert torch.allclose(sample_patch_params(8, schedule="beta", value=0.0, min_scale=0.25)[:, 0], torch.ones(8))


@pytest.mark.parametrize("batch,micro", [(16, None), (16, 8), (12, 6), (8, 2)])
def test_one_patch_per_minibatch_std_group(batch, micro):
    """Every group D's MinibatchStd forms (per micro-batch) sees a single (s, dx, dy)."""
    torch.manual_seed(0)
    p = sample_patch_params(batch, schedule="uniform", value=0.25, min_scale=0.25, micro_batch=micro)
    micro = micro or batch
    for start in range(0, batch, micro):
        chunk = p[start:start + micro]
        # feed the patch params as a feature map: MinibatchStd's std over each group is then 0
        fmap = chunk[:, :, None, None].expand(-1, -1, 4, 4).contiguous()
        assert MinibatchStd(4)(fmap)[:, -1].abs().max() < 1e-3
    assert len(torch.unique(p[:, 0])) == int(group_ids(batch, 4, micro).max()) + 1


def test_real_patch_grid_equals_ray_pixels():
    """Render an analytic textured plane z = 0 by ray casting; reading the same image's patch with
    extract_real_patches gives the same values as casting the patch's rays directly."""
    def texture(x, y):  # smooth colour field on the plane
        return torch.stack([torch.sin(9 * x) * torch.cos(7 * y), torch.cos(5 * x + 3 * y), x * y * 10], dim=-1)

    def render_plane(angles, res, patch=None):
        origins, dirs = camera_rays(angles, fov=30.0, radius=1.0, resolution=res, patch=patch)
        t = -origins[:, None, 2:3] / dirs[..., 2:3]  # hit z = 0
        hit = origins[:, None] + t * dirs
        img = texture(hit[..., 0], hit[..., 1])  # [N, res * res, 3]
        return img.transpose(1, 2).reshape(len(angles), 3, res, res)

    angles = torch.tensor([[math.pi / 2, math.pi / 2, 0.0], [math.pi / 2 + 0.3, math.pi / 2 - 0.2, 0.0]])
    full = render_plane(angles, 257)
    patch = torch.tensor([[0.5, 0.25, 0.1], [0.125, 0.7, 0.3]])
    direct = render_plane(angles, 16, patch)
    read = extract_real_patches(full, patch, 16)
    err = (read - direct).abs().max()
    assert err < 0.02  # bilinear interpolation error only
    for delta in ([0.0, 0.02, 0.0], [0.0, 0.0, 0.02], [0.01, 0.0, 0.0]):  # a grid off by ~1% is caught
        shifted = extract_real_patches(full, patch + torch.tensor(delta), 16)
        assert (shifted - direct).abs().max() > 3 * err
    # s = 1: the patch grid is the full-image grid, read exactly
    assert torch.allclose(extract_real_patches(full, torch.tensor([[1.0, 0.0, 0.0]] * 2), 257), full, atol=1e-5)
