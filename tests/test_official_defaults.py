"""The last differences from the official code, each pinned at its official default (issue 16).

EpiGRAF: conv clamp 256 in G's synthesis and D; D's Fourier camera code (x64 on the signed angle);
the importance weights' epsilon added twice; the evaluation renderer keeps depth jitter (official).
CIPS: G's Adam takes the lazy ratio 4/5 (lr 0.0016, beta2 0.99^0.8); D sees RGB only (--img2dis).
"""

import math

import pytest
import torch

from ganrepro.models import build_networks
from ganrepro.papers.epigraf.models import EpiGRAFGenerator, PatchDiscriminator
from ganrepro.papers.epigraf.models import render as render_mod
from ganrepro.papers.epigraf.objective import eval_render
from ganrepro.errors import ConfigError

torch.set_num_threads(1)
TINY_G = dict(z_dim=16, w_dim=16, plane_resolution=16, feat_dim=4, channel_base=128, channel_max=16, mlp_hidden=8,
              n_coarse=4, n_fine=4, patch_resolution=8)
TINY_D = dict(patch_resolution=8, channel_base=128, channel_max=16, hyper_dim=16, const_emb_dim=8)


def test_epigraf_family_defaults_clamp_g_and_d_at_256():
    G, D = build_networks({"family": "epigraf", **{k: v for k, v in TINY_G.items() if "channel" not in k},
                           "g_channel_base": 128, "g_channel_max": 16, "d_channel_base": 128, "d_channel_max": 16,
                           "hyper_dim": 16, "const_emb_dim": 8},
                          resolution=16, img_channels=3, num_classes=0)
    layers = [m for m in G.synthesis.modules() if hasattr(m, "conv_clamp")]
    assert layers and all(m.conv_clamp == 256 for m in layers)
    assert D.from_rgb.conv_clamp == 256 and D.epilogue.conv.conv_clamp == 256
    assert all(b.conv0.conv_clamp == 256 and b.conv1.conv_clamp == 256 and b.skip.conv_clamp is None for b in D.blocks)


def test_epigraf_d_clamp_bounds_large_activations():
    torch.manual_seed(0)
    D = PatchDiscriminator(resolution=16, **TINY_D)
    free = PatchDiscriminator(resolution=16, conv_clamp=None, **TINY_D)
    free.load_state_dict(D.state_dict())
    x = torch.randn(2, 3, 8, 8) * 1e4
    assert D.from_rgb(x).abs().max() <= 256 + 1e-3 < free.from_rgb(x).abs().max()
    small = torch.randn(2, 3, 8, 8) * 0.1  # inert at ordinary scales
    p = torch.tensor([[0.5, 0.1, 0.2]] * 2)
    assert torch.allclose(D(small, None, p), free(small, None, p))


def test_camera_fourier_code_is_x64_on_the_signed_angle():
    torch.manual_seed(0)
    D = PatchDiscriminator(resolution=16, camera_cond=True, camera_encoding="fourier", **TINY_D).eval()
    assert D.camera_enc.dim == 24  # 2 angles x 6 frequencies x (sin, cos)
    cam = torch.tensor([[-1.0, 2.0, 0.0]])
    a = cam[:, :2].sign() * ((cam[:, :2].abs() % (2 * math.pi)) / (2 * math.pi))  # signed, not shifted
    freqs = 2.0 ** torch.arange(6) * math.pi / 64
    raw = (64 * a)[..., None] * freqs
    expected = torch.cat([raw.sin(), raw.cos()], dim=-1).flatten(1)
    assert torch.allclose(D.camera_enc(a), expected, atol=1e-6)
    paper = PatchDiscriminator(resolution=256, patch_resolution=64, camera_cond=True, camera_encoding="fourier",
                               channel_base=1024, channel_max=4, hyper_dim=4)
    assert paper.head.embed.weight.shape[1] == 852  # official head input width at paper size (828 + 24)


def test_importance_weights_get_the_epsilon_twice(monkeypatch):
    seen = {}

    def spy(bins, weights, n, **kw):
        seen["weights"] = weights.clone()
        return torch.linspace(0.9, 1.1, n).expand(weights.shape[0], n)

    monkeypatch.setattr(render_mod, "sample_pdf", spy)
    field = lambda pts: torch.cat([torch.zeros(*pts.shape[:-1], 3), torch.full((*pts.shape[:-1], 1), -1e4)], -1)  # noqa: E731  no density
    render_mod.render_rays(field, torch.zeros(1, 3), torch.ones(1, 2, 3), near=0.5, far=1.5, n_coarse=6, n_fine=3,
                           perturb=False)
    assert torch.allclose(seen["weights"], torch.full_like(seen["weights"], 1e-5))  # + 1e-5 in the renderer
    assert render_mod.PDF_EPS == 1e-5
    monkeypatch.undo()  # the sampler adds it again: a zero-weight pdf is uniform either way, the cdf shifts
    w = torch.tensor([[0.0, 1.0, 0.3]])
    once = render_mod.sample_pdf(torch.tensor([[0.0, 1, 2, 3]]), w, 5, deterministic=True)
    twice = render_mod.sample_pdf(torch.tensor([[0.0, 1, 2, 3]]), w + 1e-5, 5, deterministic=True)
    assert not torch.equal(once, twice)


def test_evaluation_render_is_official_stochastic_by_default():
    assert eval_render({"eval": {}}) == "official"
    assert eval_render({"eval": {"render": "deterministic"}}) == "deterministic"
    with pytest.raises(ConfigError, match="eval.render"):
        eval_render({"eval": {"render": "jitter"}})
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=8, **TINY_G).eval()
    z, cams = torch.randn(1, 16), torch.tensor([[0.2, math.pi / 2, 0.0]])
    det = [G.render_full(z, None, cams) for _ in range(2)]
    assert torch.equal(det[0], det[1])
    stoch = [G.render_full(z, None, cams, perturb=True) for _ in range(2)]
    assert not torch.equal(stoch[0], stoch[1])


def test_cips_d_sees_rgb_only_by_default():
    _, D = build_networks({"family": "cips", "w_dim": 16, "hidden": 8, "width": 16, "z_dim": 8, "mapping_layers": 2,
                           "d_channel_base": 64, "d_channel_max": 16}, resolution=16, img_channels=3, num_classes=0)
    assert D.coord_channels is False and D.net.from_rgb.weight.shape[1] == 3


def test_cips_g_adam_takes_the_lazy_ratio():
    from ganrepro.objectives.base import lazy_ratio
    from ganrepro.papers.inr_multistage.step import paper_g_reg_every

    assert paper_g_reg_every() == 4 and lazy_ratio(paper_g_reg_every()) == pytest.approx(0.8)
    from types import SimpleNamespace

    from ganrepro.papers.inr_multistage.objective import INRMultistageObjective

    assert 0.002 * lazy_ratio(4) == pytest.approx(0.0016) and 0.99 ** lazy_ratio(4) == pytest.approx(0.991992, abs=1e-6)
    phases = {p.name: p for p in INRMultistageObjective.phases(SimpleNamespace(reg_interval=16, g_reg_every=4))}
    assert phases["G"].lr_ratio == pytest.approx(0.8) and phases["D"].lr_ratio == pytest.approx(16 / 17)
    no_correction = INRMultistageObjective.phases(SimpleNamespace(reg_interval=16, g_reg_every=0))
    assert [p.lr_ratio for p in no_correction if p.name == "G"] == [1.0]
