"""Networks: paper parameter counts, shapes, fix-up init, gradients, determinism, config errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganrepro.errors import ConfigError
from ganrepro.models import build_networks, count_params
from ganrepro.models.layers import (
    StyleConv2d,
    StyleLinear,
    conv3x3_up_2x,
    conv_down_2x,
    downsample_2x,
    lowpass_filter,
    upsample_2x,
)
from ganrepro.models.paper_counts import count_for
from ganrepro.models.r3gan import R3GAN_LRELU_GAIN, ResidualBlock

torch.set_num_threads(1)

# ----------------------------------------------------------------------------- paper sizes

CONFIG_A = {"family": "stylegan2"}
CONFIG_B = {"family": "stylegan2", "z_dim": 64, "mapping_layers": 0, "z_normalize": False,
            "style_modulation": False, "noise": False, "equalized_lr": False, "mbstd_group": 0}
WIDE = [1536, 1536, 1536, 1536, 768, 384, 192]
NARROW = [768, 768, 768, 768, 384, 192, 96]

# name, arch, resolution, img_channels, num_classes, exact (G, D) or None, paper (G, D) in millions
PAPER = [
    ("A StyleGAN2 (T2)", CONFIG_A, 256, 3, 0, (24_767_458, 24_001_089), (24.767, 24.001)),
    ("B stripped StyleGAN2 (T2)", CONFIG_B, 256, 3, 0, (18_890_453, 23_996_481), (18.890, 23.996)),
    ("D ResNet + output skips (T2)", {"family": "r3gan", "widths": WIDE, "expansion": 0.25, "group_size": None,
                                      "output_skips": True}, 256, 3, 0, (23_400_192, 23_281_536), (23.400, 23.282)),
    ("D ResNet (T2)", {"family": "r3gan", "widths": WIDE, "expansion": 0.25, "group_size": None},
     256, 3, 0, (23_378_304, 23_281_536), (23.378, 23.282)),
    ("E grouped (T2)", {"family": "r3gan", "widths": WIDE, "expansion": 0.5, "group_size": 16},
     256, 3, 0, (23_187_648, 23_090_880), (23.188, 23.091)),
    ("E inverted bottleneck (T2)", {"family": "r3gan", "widths": NARROW, "expansion": 2.0, "group_size": 16},
     256, 3, 0, (23_057_952, 23_009_568), (23.058, 23.010)),
    ("StackedMNIST 32 (T9)", {"family": "r3gan", "widths": [768] * 4}, 32, 3, 0,
     (20_732_160, 20_683_776), (20.732160, 20.683776)),
    ("CIFAR-10 32 cond. (T9)", {"family": "r3gan", "widths": [768] * 4, "c_embed_dim_d": 768}, 32, 3, 10,
     (20_781_952, 21_280_512), (20.781952, 21.280512)),
    ("FFHQ 64 (T9)", {"family": "r3gan", "widths": [768, 768, 768, 768, 384]}, 64, 3, 0, None, (22.43, 22.38)),
    ("ImageNet 32 cond. (T9)", {"family": "r3gan", "widths": [1536] * 4, "group_size": 32}, 32, 3, 1000,
     None, (82.91, 86.55)),
    ("ImageNet 64 cond. (T9)", {"family": "r3gan", "widths": [1536] * 5, "group_size": 32}, 64, 3, 1000,
     None, (103.57, 107.21)),
]


@pytest.mark.parametrize("name, arch, res, ch, classes, exact, paper", PAPER, ids=[p[0] for p in PAPER])
def test_paper_parameter_counts(name, arch, res, ch, classes, exact, paper):
    g, d = count_for(arch, res, ch, classes)
    if exact is not None:
        assert (g, d) == exact
    for ours, reported in zip((g, d), paper):
        # the paper rounds to its last printed digit
        assert abs(ours / 1e6 - reported) <= 0.5 * 10 ** -(len(str(reported).split(".")[1])) + 1e-9
        assert abs(ours / 1e6 - reported) / reported < 0.001


def test_meta_count_equals_real_instantiation():
    G, D = build_networks(CONFIG_A, resolution=256, img_channels=3, num_classes=0)
    assert (count_params(G), count_params(D)) == count_for(CONFIG_A, 256, 3, 0)
    assert G.num_ws == 14 and G.mapping.w_dim == 512


# ----------------------------------------------------------------------------- tiny networks

TINY = {
    "sg2-A": {"family": "stylegan2", "channel_base": 128, "channel_max": 16, "z_dim": 16, "w_dim": 16,
              "mapping_layers": 2, "mbstd_group": 2},
    "sg2-A-noskip": {"family": "stylegan2", "channel_base": 128, "channel_max": 16, "z_dim": 16, "w_dim": 16,
                     "mapping_layers": 2, "g_output_skips": False, "noise": False},
    "sg2-B": {**CONFIG_B, "channel_base": 128, "channel_max": 16, "z_dim": 8},
    "r3gan-E": {"family": "r3gan", "expansion": 2.0, "group_size": 8, "z_dim": 8, "c_embed_dim_g": 4},
    "r3gan-D-skips": {"family": "r3gan", "expansion": 0.25, "group_size": None, "z_dim": 8,
                      "output_skips": True, "c_embed_dim_d": 6},
}
R3GAN_WIDTHS = [16, 16, 8, 8]  # 4x4 .. 32x32


def tiny_arch(name, resolution):
    arch = dict(TINY[name])
    if arch["family"] == "r3gan":
        arch["widths"] = R3GAN_WIDTHS[: int(math.log2(resolution)) - 1]
    return arch


def tiny_networks(name, resolution=16, img_channels=3, num_classes=0, seed=0):
    torch.manual_seed(seed)
    return build_networks(tiny_arch(name, resolution), resolution=resolution, img_channels=img_channels,
                          num_classes=num_classes)


def inputs(G, n, num_classes, seed=1):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    c = torch.randint(0, num_classes, (n,), generator=gen) if num_classes else None
    return z, c


SIZES = [(8, 1, 0), (16, 3, 10), (32, 3, 0), (16, 1, 5), (32, 1, 3)]


@pytest.mark.parametrize("res, ch, classes", SIZES)
@pytest.mark.parametrize("name", list(TINY))
def test_shapes_and_dtypes(name, res, ch, classes):
    G, D = tiny_networks(name, res, ch, classes)
    assert G.c_dim == classes and G.z_dim == TINY[name]["z_dim"]
    z, c = inputs(G, 3, classes)
    with torch.no_grad():
        img = G(z, c)
        logits = D(img, c)
    assert img.shape == (3, ch, res, res) and img.dtype == torch.float32
    assert logits.shape == (3,) and logits.dtype == torch.float32
    assert torch.isfinite(img).all() and torch.isfinite(logits).all()
    assert 0.05 < img.std() < 20  # sane output scale at init


@pytest.mark.parametrize("name", list(TINY))
def test_conditioning(name):
    G, D = tiny_networks(name, 8, 3, num_classes=4)
    z, _ = inputs(G, 4, 0)
    c0, c1 = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    kw = {"noise_mode": "const"} if TINY[name]["family"] == "stylegan2" else {}
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(G(z, c0, **kw), G(z, c1, **kw))
        assert not torch.allclose(D(x, c0), D(x, c1))
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    with pytest.raises(ValueError, match="conditional"):
        D(x)


def test_unconditional_networks_ignore_labels():
    G, D = tiny_networks("r3gan-E", 8, 3, num_classes=0)
    z, _ = inputs(G, 2, 0)
    c = torch.tensor([0, 1])
    with torch.no_grad():
        assert torch.equal(G(z, c), G(z)) and torch.equal(D(G(z), c), D(G(z)))


@pytest.mark.parametrize("name", list(TINY))
def test_gradients_reach_every_parameter(name):
    G, D = tiny_networks(name, 16, 3, num_classes=3)
    z, c = inputs(G, 4, 3)
    D(G(z, c), c).sum().backward()
    for net in (G, D):
        for pname, p in net.named_parameters():
            assert p.grad is not None, pname
            assert torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", list(TINY))
def test_double_backward_for_gradient_penalties(name):
    """R1/R2 differentiate the input gradient of D; path-length regularisation that of G w.r.t. ws."""
    G, D = tiny_networks(name, 16, 3, num_classes=2)
    z, c = inputs(G, 4, 2)
    x = G(z, c).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x, c).sum(), x, create_graph=True)
    grad.square().sum().backward()
    assert D.from_rgb.weight.grad is not None and torch.count_nonzero(D.from_rgb.weight.grad) > 0
    if hasattr(G, "mapping"):
        ws = G.mapping(z, c)
        img = G.synthesis(ws)
        (grad_ws,) = torch.autograd.grad((img * torch.randn_like(img)).sum(), ws, create_graph=True)
        grad_ws.square().sum().backward()
        assert G.mapping.layers[0].weight.grad is not None


@pytest.mark.parametrize("name", list(TINY))
def test_bf16_autocast_forward(name):
    G, D = tiny_networks(name, 16, 3, num_classes=2)
    z, c = inputs(G, 2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = D(G(z, c), c)
    assert logits.shape == (2,) and torch.isfinite(logits.float()).all()
    logits.float().sum().backward()


@pytest.mark.parametrize("name", list(TINY))
def test_same_seed_same_outputs(name):
    outs = []
    for _ in range(2):
        G, D = tiny_networks(name, 16, 3, num_classes=2, seed=7)
        z, c = inputs(G, 2, 2)
        torch.manual_seed(3)  # noise inputs
        with torch.no_grad():
            img = G(z, c)
            outs.append((img, D(img, c)))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    G2, _ = tiny_networks(name, 16, 3, num_classes=2, seed=8)
    assert any(not torch.equal(a, b) for a, b in zip(G.parameters(), G2.parameters()))


# ----------------------------------------------------------------------------- StyleGAN2 specifics


def test_mapping_and_synthesis_interface():
    G, _ = tiny_networks("sg2-A", 32, 3, num_classes=5)
    assert G.num_ws == 2 * 5 - 2  # two per resolution, one at 4x4, plus the last ToRGB
    z, c = inputs(G, 3, 5)
    G.eval()
    with torch.no_grad():
        ws = G.mapping(z, c)
        assert ws.shape == (3, G.num_ws, G.w_dim)
        assert torch.equal(G.synthesis(ws, noise_mode="const"), G(z, c, noise_mode="const"))
        # noise strengths start at 0: noise only matters once they are learned
        assert torch.equal(G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="none"))
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
        assert not torch.equal(G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random"))
        assert torch.equal(G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const"))
        # truncation: psi = 0 collapses every w to the tracked average
        G.mapping.w_avg.copy_(torch.randn(G.w_dim))
        assert torch.allclose(G.mapping(z, c, truncation_psi=0.0), G.mapping.w_avg.expand(3, G.num_ws, -1))


def test_w_avg_tracked_in_training_mode_only():
    G, _ = tiny_networks("sg2-A", 8)
    z, _ = inputs(G, 4, 0)
    G.eval()
    G.mapping(z)
    assert torch.count_nonzero(G.mapping.w_avg) == 0
    G.train()
    G.mapping(z)
    assert torch.count_nonzero(G.mapping.w_avg) > 0


def test_style_mixing_ws_can_differ_per_layer():
    G, _ = tiny_networks("sg2-A", 16)
    z, _ = inputs(G, 2, 0)
    ws = G.mapping(z)
    ws[:, 3:] = G.mapping(torch.randn_like(z))[:, 3:]  # in place, as StyleGAN2's loss does
    img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (2, 3, 16, 16)


def test_stripped_generator_has_no_mapping_or_noise():
    G, D = tiny_networks("sg2-B", 16)
    assert not hasattr(G, "mapping") and G.num_ws == 0
    names = [n for n, _ in G.named_parameters()]
    assert not any("noise" in n or "affine" in n for n in names)
    assert D.epilogue.mbstd is None
    z, _ = inputs(G, 2, 0)
    with torch.no_grad():
        assert torch.equal(G(z), G(z))  # no noise, no batch statistics


def test_minibatch_std_handles_any_batch_size():
    G, D = tiny_networks("sg2-A", 8)  # mbstd_group 2
    for n in (1, 3, 4):
        assert D(torch.randn(n, 3, 8, 8)).shape == (n,)
    # with minibatch stddev the logit of a sample depends on the other samples of its group
    x = torch.randn(2, 3, 8, 8)
    y = torch.cat([x[:1], torch.randn(1, 3, 8, 8)])
    with torch.no_grad():
        assert D(x)[0] != D(y)[0]


def test_equalized_lr_effective_weight_std():
    torch.manual_seed(0)
    fc = StyleLinear(400, 300, equalized=True)
    assert fc.weight.std().item() == pytest.approx(1.0, rel=0.02)
    assert fc.effective_weight().std().item() == pytest.approx(1 / math.sqrt(400), rel=0.02)
    mapping_fc = StyleLinear(400, 300, lr_mul=0.01, activation="lrelu", equalized=True)
    assert mapping_fc.weight.std().item() == pytest.approx(100.0, rel=0.02)  # param N(0, 1/lr_mul)
    assert mapping_fc.effective_weight().std().item() == pytest.approx(1 / math.sqrt(400), rel=0.02)
    conv = StyleConv2d(64, 128, 3, equalized=True)
    assert conv.weight.std().item() == pytest.approx(1.0, rel=0.02)
    assert conv.effective_weight().std().item() == pytest.approx(1 / math.sqrt(64 * 9), rel=0.02)
    # without equalised lr: standard He init N(0, 2/fan_in) for lrelu layers, scale 1 at runtime
    raw = StyleConv2d(64, 128, 3, activation="lrelu", equalized=False)
    assert raw.weight_gain == 1.0
    assert raw.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.02)


def test_equalized_and_raw_layers_agree_in_distribution():
    """The same forward scale at init with and without equalised lr (the gain moves into the init)."""
    x = torch.randn(256, 32, 8, 8)
    stds = []
    for equalized in (True, False):
        torch.manual_seed(0)
        conv = StyleConv2d(32, 32, 3, activation="lrelu", equalized=equalized)
        with torch.no_grad():
            stds.append(conv(x).std().item())
    assert stds[0] == pytest.approx(stds[1], rel=0.05)


# ----------------------------------------------------------------------------- R3GAN specifics


def _without_residual_blocks(net):
    for stage in net.stages:
        for i, module in enumerate(stage):
            if isinstance(module, ResidualBlock):
                stage[i] = nn.Identity()
    return net


@pytest.mark.parametrize("name", ["r3gan-E", "r3gan-D-skips"])
def test_fixup_residual_branches_are_identity_at_init(name):
    G, D = tiny_networks(name, 16, 3, num_classes=3)
    z, c = inputs(G, 3, 3)
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        img, logit = G(z, c), D(x, c)
        for net in (G, D):
            for block in net.modules():
                if isinstance(block, ResidualBlock):
                    assert torch.count_nonzero(block.conv3.weight) == 0
        G0, D0 = _without_residual_blocks(G), _without_residual_blocks(D)
        assert torch.equal(G0(z, c), img) and torch.equal(D0(x, c), logit)


def test_fixup_branch_gains():
    torch.manual_seed(0)
    L = 12
    block = ResidualBlock(64, expansion=2.0, group_size=16, total_blocks=L)
    gain = R3GAN_LRELU_GAIN * L ** -0.25
    assert block.conv1.weight.std().item() == pytest.approx(gain / math.sqrt(64), rel=0.03)
    assert block.conv2.groups == 128 // 16
    assert block.conv2.weight.std().item() == pytest.approx(gain / math.sqrt(16 * 9), rel=0.03)
    assert block.conv1.bias is None and block.conv2.bias is None and block.conv3.bias is None


def test_group_size_larger_than_branch_means_dense():
    G, _ = tiny_networks("r3gan-E", 8)  # widths 16 -> branch 32 > ... group_size 8 -> 4 groups
    assert G.stages[0][0].conv2.groups == 32 // 8
    arch = {**tiny_arch("r3gan-E", 8), "group_size": 64}
    G, _ = build_networks(arch, resolution=8, img_channels=3, num_classes=0)
    assert G.stages[0][0].conv2.groups == 1


# ----------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], [1, 2, 1]])
def test_fused_resampling_convs_match_reference_in_interior(taps):
    torch.manual_seed(0)
    f = lowpass_filter(taps)
    x, w = torch.randn(2, 3, 8, 8), torch.randn(5, 3, 3, 3)
    fused = conv3x3_up_2x(x, w, f)
    reference = F.conv2d(upsample_2x(x, f), w, padding=1)
    assert fused.shape == reference.shape == (2, 5, 16, 16)
    assert torch.allclose(fused[..., 2:-2, 2:-2], reference[..., 2:-2, 2:-2], atol=1e-5)
    fused = conv_down_2x(x, w, f)
    reference = downsample_2x(F.conv2d(x, w, padding=1), f)
    assert fused.shape == (2, 5, 4, 4)
    assert torch.allclose(fused[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-5)


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], [1, 2, 1], [1, 1]])
def test_resampling_preserves_constants(taps):
    f = lowpass_filter(taps)
    ones = torch.ones(1, 2, 8, 8)
    assert torch.allclose(upsample_2x(ones, f)[..., 2:-2, 2:-2], torch.ones(1, 2, 12, 12))
    assert torch.allclose(downsample_2x(ones, f)[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2))


# ----------------------------------------------------------------------------- config errors


def test_unknown_family():
    with pytest.raises(ConfigError, match=r"'family' is 'biggan'") as error:
        build_networks({"family": "biggan"}, resolution=8, img_channels=3, num_classes=0)
    assert "stylegan2" in str(error.value) and "r3gan" in str(error.value)  # the allowed families


def test_unknown_key_names_key_and_allowed_keys():
    with pytest.raises(ConfigError, match=r"unknown key 'depth'.*allowed keys.*blocks_per_stage"):
        build_networks({"family": "r3gan", "widths": [8, 8], "depth": 3}, resolution=8, img_channels=3,
                       num_classes=0)
    with pytest.raises(ConfigError, match=r"unknown key 'widths' in the stylegan2.*knob of the r3gan family"):
        build_networks({"family": "stylegan2", "widths": [8, 8]}, resolution=8, img_channels=3, num_classes=0)


def test_wrong_widths_length_names_resolution_and_expected_length():
    with pytest.raises(ConfigError, match=r"'widths' has 3 entries but resolution 32 needs .* = 4"):
        build_networks({"family": "r3gan", "widths": [8, 8, 8]}, resolution=32, img_channels=3, num_classes=0)
    with pytest.raises(ConfigError, match="needs 'widths'"):
        build_networks({"family": "r3gan"}, resolution=32, img_channels=3, num_classes=0)


@pytest.mark.parametrize("arch, pattern", [
    ({"family": "r3gan", "widths": [8, 10], "expansion": 0.25}, "non-integer residual branch width"),
    ({"family": "r3gan", "widths": [24, 24], "group_size": 5}, "group_size 5 does not divide"),
    ({"family": "r3gan", "widths": [8, 8], "expansion": "2"}, "'expansion' must be a positive number"),
    ({"family": "r3gan", "widths": [8, 8], "resample_filter": [1]}, "'resample_filter' must be"),
    ({"family": "stylegan2", "noise": 1}, "'noise' must be a bool"),
    ({"family": "stylegan2", "mapping_layers": 0}, "style_modulation: true needs a mapping network"),
    ({"family": "stylegan2", "style_modulation": False}, "has no effect without style modulation"),
    ({"family": "stylegan2", "channel_base": 4}, "gives 0 channels at resolution 8"),
])
def test_invalid_values(arch, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_networks(arch, resolution=8, img_channels=3, num_classes=0)


def test_invalid_sizes():
    with pytest.raises(ConfigError, match="power of two"):
        build_networks({"family": "stylegan2"}, resolution=24, img_channels=3, num_classes=0)
