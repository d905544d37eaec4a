"""The networks compute what the official code computes (brownvc/R3GAN, NVlabs/stylegan2-ada-pytorch).

Each test pins one fact of the official implementations, written from the facts (no official code
is imported): the R3GAN low-pass kernel and its up/down samplers, conv_clamp, per-stage reduced
precision, true-convolution upsampling (flip_weight), w_avg tracking, gradient sanitising.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganrepro.errors import ConfigError
from ganrepro.models import build_networks
from ganrepro.models.arch import DEFAULTS as ARCH_DEFAULTS
from ganrepro.models.layers import (
    StyleConv2d,
    conv3x3_up_2x,
    downsample_2x,
    filter2d,
    lowpass_filter,
    upsample_2x,
)
from ganrepro.models.paper_counts import count_for
from ganrepro.models.precision import sanitize_gradients, stage_dtypes
from ganrepro.models.stylegan2 import SynthesisLayer, ToRGB

torch.set_num_threads(1)

OFFICIAL_TAPS = [1, 3, 3, 1]  # R3GAN: CreateLowpassKernel([1, 2, 1]) = convolve([1, 2, 1], [1, 1])
SG2 = {"family": "stylegan2", "channel_base": 128, "channel_max": 16, "z_dim": 16, "w_dim": 16,
       "mapping_layers": 2, "mbstd_group": 2}
R3 = {"family": "r3gan", "widths": [16, 16, 8, 8], "expansion": 2.0, "group_size": 8, "z_dim": 8,
      "c_embed_dim_g": 4}


def official_r3gan_kernel() -> torch.Tensor:
    """The official 2D kernel: k = convolve([1, 2, 1], [1, 1]); outer(k, k) / sum."""
    k = np.convolve([1, 2, 1], [1, 1]).reshape(1, -1)
    kernel = torch.tensor(k.T @ k, dtype=torch.float32)
    return kernel / kernel.sum()


def official_upsample(x):
    """R3GAN's InterpolativeUpsampler: depthwise transposed conv, kernel 4 * K, stride 2, padding 1."""
    n, c, h, w = x.shape
    y = F.conv_transpose2d(x.reshape(n * c, 1, h, w), 4 * official_r3gan_kernel()[None, None], stride=2, padding=1)
    return y.reshape(n, c, 2 * h, 2 * w)


def official_downsample(x):
    """R3GAN's InterpolativeDownsampler: depthwise conv with K, stride 2, padding 1."""
    n, c, h, w = x.shape
    y = F.conv2d(x.reshape(n * c, 1, h, w), official_r3gan_kernel()[None, None], stride=2, padding=1)
    return y.reshape(n, c, h // 2, w // 2)


def networks(arch, resolution=32, num_classes=0, seed=0, **knobs):
    torch.manual_seed(seed)
    return build_networks({**arch, **knobs}, resolution=resolution, img_channels=3, num_classes=num_classes)


# ----------------------------------------------------------------------------- R3GAN resampling filter


def test_default_filter_has_the_official_effective_kernel():
    """The r3gan family's default taps, through the project's lowpass_filter and filter2d, give the official kernel."""
    f = lowpass_filter(ARCH_DEFAULTS["r3gan"]["resample_filter"])
    impulse = torch.zeros(1, 1, 7, 7)
    impulse[0, 0, 3, 3] = 1.0
    response = filter2d(impulse, f, pad=(0, 0))  # 4x4 valid output = the (flipped, symmetric) kernel
    assert torch.allclose(response[0, 0], official_r3gan_kernel(), atol=1e-7)
    assert response.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("size", [4, 8, 9])
def test_resamplers_equal_the_official_ones_everywhere(size):
    """Not only in the interior: same padding, same normalisation, gain 4 for upsampling."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, size - size % 2, size - size % 2)
    f = lowpass_filter(OFFICIAL_TAPS)
    assert torch.allclose(upsample_2x(x, f), official_upsample(x), atol=1e-6)
    assert torch.allclose(downsample_2x(x, f), official_downsample(x), atol=1e-6)


def _assert_official_transitions(G, D) -> torch.Tensor:
    """G's up and D's down transitions equal the official resamplers; returns G's test input."""
    up, down = G.stages[2][0], D.stages[0][-1]  # 8 -> 16 with a width change 16 -> 8; 32 -> 16, no change
    torch.manual_seed(1)
    x, y = torch.randn(2, 16, 8, 8), torch.randn(2, 8, 32, 32)
    with torch.no_grad():
        assert torch.allclose(up(x), official_upsample(up.conv(x)), atol=1e-6)
        assert torch.allclose(down(y), official_downsample(y), atol=1e-6)
    return x


def test_r3gan_networks_built_without_a_filter_resample_as_the_official_ones():
    """No resample_filter knob (as every params file): G's up and D's down transitions are the official resamplers."""
    assert "resample_filter" not in R3
    G, D = networks(R3)
    x = _assert_official_transitions(G, D)
    assert not torch.allclose(upsample_2x(x, lowpass_filter([1, 2, 1])), official_upsample(x), atol=1e-3)  # the check tells [1, 2, 1] apart


def test_upsampled_impulse_is_four_times_the_kernel():
    x = torch.zeros(1, 1, 6, 6)
    x[0, 0, 3, 2] = 1.0
    y = upsample_2x(x, lowpass_filter(OFFICIAL_TAPS))
    expected = torch.zeros(12, 12)
    expected[5:9, 3:7] = 4 * official_r3gan_kernel()  # input pixel i covers output rows 2i-1 .. 2i+2
    assert torch.allclose(y[0, 0], expected, atol=1e-7)


def test_constant_image_stays_constant():
    f = lowpass_filter(OFFICIAL_TAPS)
    ones = torch.full((1, 2, 8, 8), 3.0)
    assert torch.allclose(upsample_2x(ones, f)[..., 1:-1, 1:-1], torch.full((1, 2, 14, 14), 3.0))
    assert torch.allclose(downsample_2x(ones, f)[..., 1:-1, 1:-1], torch.full((1, 2, 2, 2), 3.0))
    # zero padding at the border: up, output row 0 sees only tap 3/8 of its two (x 2 gain per axis);
    # down, output row 0 sees the taps 3/8 + 3/8 + 1/8 of its four
    assert upsample_2x(ones, f)[0, 0, 0, 5].item() == pytest.approx(3.0 * 3 / 4)
    assert downsample_2x(ones, f)[0, 0, 0, 2].item() == pytest.approx(3.0 * 7 / 8)


def test_down_of_up_is_the_hand_computed_kernel():
    """1D: down(up(x)) = x * 2 * (f * f) sampled at even lags = [6, 20, 6] / 64 * 2 = [3, 10, 3] / 16."""
    f = lowpass_filter(OFFICIAL_TAPS)
    impulse = torch.zeros(1, 1, 8, 8)
    impulse[0, 0, 4, 4] = 1.0
    y = downsample_2x(upsample_2x(impulse, f), f)
    expected = torch.zeros(8, 8)
    expected[3:6, 3:6] = torch.tensor([[9.0, 30, 9], [30, 100, 30], [9, 30, 9]]) / 256
    assert torch.allclose(y[0, 0], expected, atol=1e-7)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 10, 10)
    kernel = (torch.outer(torch.tensor([3.0, 10, 3]), torch.tensor([3.0, 10, 3])) / 256).expand(3, 1, 3, 3)
    reference = F.conv2d(x, kernel, padding=1, groups=3)
    assert torch.allclose(downsample_2x(upsample_2x(x, f), f)[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1],
                          atol=1e-6)


def test_r3gan_transitions_with_the_official_filter_match_the_official_resamplers():
    G, D = networks(R3, resample_filter=OFFICIAL_TAPS)
    _assert_official_transitions(G, D)


# ----------------------------------------------------------------------------- conv_clamp


def test_style_conv_clamp_is_clamp_of_unclamped_output_scaled_with_gain():
    torch.manual_seed(0)
    free = StyleConv2d(4, 6, 3, activation="lrelu", down=True)
    clamped = StyleConv2d(4, 6, 3, activation="lrelu", down=True, conv_clamp=0.5)
    clamped.load_state_dict(free.state_dict())
    x = torch.randn(2, 4, 8, 8) * 3
    gain = math.sqrt(0.5)
    with torch.no_grad():
        out, reference = clamped(x, gain=gain), free(x, gain=gain)
    assert reference.abs().max() > 0.5 * gain  # the clamp has work to do
    assert torch.equal(out, reference.clamp(-0.5 * gain, 0.5 * gain))


def test_synthesis_layer_and_torgb_clamp():
    torch.manual_seed(0)
    layer = SynthesisLayer(4, 6, w_dim=8, resolution=8, up=True, conv_clamp=0.3)
    torgb = ToRGB(6, 3, w_dim=8, conv_clamp=0.3)
    x, w = torch.randn(2, 4, 4, 4) * 5, torch.randn(2, 8)
    with torch.no_grad():
        h = layer(x, w, noise_mode="none")
        assert h.shape == (2, 6, 8, 8) and h.abs().max().item() == pytest.approx(0.3)
        assert torgb(h * 50, w).abs().max().item() == pytest.approx(0.3)
        layer.conv_clamp = torgb.conv_clamp = None
        assert layer(x, w, noise_mode="none").abs().max() > 0.3


def test_conv_clamp_256_is_inert_at_init_and_clamps_large_activations():
    G0, D0 = networks(SG2, resolution=16, conv_clamp=None)
    G1, D1 = networks(SG2, resolution=16, conv_clamp=256)
    G0.eval(), G1.eval()
    z = torch.randn(3, 16)
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(G0(z, noise_mode="const"), G1(z, noise_mode="const"))
        assert torch.equal(D0(x), D1(x))
        seen = []
        hooks = [m.register_forward_hook(lambda m, i, o: seen.append(o.abs().max().item()))
                 for m in [D1.from_rgb, D1.blocks[0].conv0, D1.epilogue.conv]]
        D1(x * 1e4)
        for h in hooks:
            h.remove()
    assert seen[0] == 256.0 and max(seen) <= 256.0
    assert D1.blocks[0].skip.conv_clamp is None and D1.epilogue.fc is not None  # skips and FCs unclamped


# ----------------------------------------------------------------------------- reduced precision


@pytest.mark.parametrize("resolution", [8, 16, 32, 256])
@pytest.mark.parametrize("n", [0, 1, 2, 4, 9])
def test_stage_dtypes_follow_the_official_num_fp16_res_rule(resolution, n):
    resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
    fp16_resolution = max(2 ** (int(math.log2(resolution)) + 1 - n), 8)  # StyleGAN2-ADA networks.py
    expected = [torch.bfloat16 if res >= fp16_resolution else torch.float32 for res in resolutions]
    assert stage_dtypes(len(resolutions), n, torch.bfloat16) == expected


def test_r3gan_official_presets_reduce_3_of_4_4_of_5_4_of_7_stages():
    """train.py: FP16Stages [-1, -2, -3] at 32x32 and [-1 .. -4] at 64x64 / 256x256 (G); D mirrors."""
    for stages, reduced in [(4, 3), (5, 4), (7, 4)]:
        assert stage_dtypes(stages, 4, torch.bfloat16).count(torch.bfloat16) == reduced


def _record_dtypes(modules):
    seen, hooks = {}, []
    for name, module in modules.items():
        def hook(m, i, o, name=name):
            seen[name] = (o[0] if isinstance(o, tuple) else o).dtype
        hooks.append(module.register_forward_hook(hook))
    return seen, hooks


@pytest.mark.parametrize("num_classes", [0, 3])
def test_r3gan_per_stage_dtypes(num_classes):
    G, D = networks(R3, num_classes=num_classes, reduced_precision_stages=2)
    bf, fp = torch.bfloat16, torch.float32
    g_seen, g_hooks = _record_dtypes({f"G{i}": s for i, s in enumerate(G.stages)} | {"to_rgb": G.to_rgb})
    d_seen, d_hooks = _record_dtypes({f"D{i}": s for i, s in enumerate(D.stages)}
                                     | {"from_rgb": D.from_rgb, "basis": D.basis_linear})
    z = torch.randn(2, 8)
    c = torch.tensor([0, 2]) if num_classes else None
    img = G(z, c)
    logits = D(img, c)
    for h in g_hooks + d_hooks:
        h.remove()
    # G: 4x4, 8x8 float32; 16x16, 32x32 (transition included) bf16; D mirrors it
    assert [g_seen[f"G{i}"] for i in range(4)] == [fp, fp, bf, bf] and g_seen["to_rgb"] == bf
    assert [d_seen[f"D{i}"] for i in range(4)] == [bf, bf, fp, fp]
    assert d_seen["from_rgb"] == bf and d_seen["basis"] == fp
    assert G.stages[2][0].conv is not None  # the 8 -> 16 transition (with its 1x1 conv) is in bf16
    assert img.dtype == fp and logits.dtype == fp
    # gradient penalties and parameter gradients work through the mixed graph, all in float32
    x = img.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x, c).sum(), x, create_graph=True)
    (grad.square().sum() + logits.sum()).backward()
    for p in list(G.parameters()) + list(D.parameters()):
        assert p.dtype == fp and p.grad is not None and p.grad.dtype == fp and torch.isfinite(p.grad).all()


def test_r3gan_reduced_precision_stays_close_to_float32():
    G0, D0 = networks(R3, resample_filter=OFFICIAL_TAPS, reduced_precision_stages=0)
    G1, D1 = networks(R3, resample_filter=OFFICIAL_TAPS, reduced_precision_stages=4)
    assert G1.stage_dtypes[0] == torch.float32  # saturates: the 4x4 stage stays float32
    torch.manual_seed(3)
    for net0, net1 in ((G0, G1), (D0, D1)):
        for (name, p0), p1 in zip(net0.named_parameters(), net1.parameters()):
            if name.endswith("conv3.weight"):  # open the residual branches (zero at init)
                delta = 0.05 * torch.randn_like(p0)
                p0.data += delta
                p1.data += delta
    z = torch.randn(4, 8)
    with torch.no_grad():
        img0, img1 = G0(z), G1(z)
        assert not torch.equal(img0, img1)
        assert (img1 - img0).norm() / img0.norm() < 0.05
        l0, l1 = D0(img0), D1(img0)
        assert (l1 - l0).norm() / l0.norm() < 0.05


@pytest.mark.parametrize("dtype_name, dtype", [("bfloat16", torch.bfloat16), ("float16", torch.float16)])
def test_stylegan2_per_block_dtypes(dtype_name, dtype):
    """num_fp16_res = 2 at 32x32: fp16_resolution = 16, so G blocks 16, 32 and D blocks b32, b16 reduced."""
    G, D = networks(SG2, reduced_precision_stages=2, reduced_dtype=dtype_name)
    fp = torch.float32
    blocks = {f"G{b.resolution}": b for b in G.synthesis.blocks}
    g_seen, g_hooks = _record_dtypes(blocks | {"torgb32": G.synthesis.blocks[-1].torgb,
                                               "mapping": G.mapping})
    img_dtypes = []
    img_hooks = [b.register_forward_hook(lambda m, i, o: img_dtypes.append(o[1].dtype)) for b in blocks.values()]
    d_seen, d_hooks = _record_dtypes({f"D{i}": b for i, b in enumerate(D.blocks)}
                                     | {"from_rgb": D.from_rgb, "epilogue": D.epilogue})
    G.eval()
    z = torch.randn(2, 16)
    img = G(z, noise_mode="const")
    logits = D(img)
    for h in g_hooks + d_hooks + img_hooks:
        h.remove()
    assert [g_seen[f"G{r}"] for r in (4, 8, 16, 32)] == [fp, fp, dtype, dtype]
    assert g_seen["torgb32"] == dtype and g_seen["mapping"] == fp
    assert img_dtypes == [fp] * 4 and img.dtype == fp  # the skip image is accumulated in float32
    assert [d_seen[f"D{i}"] for i in range(3)] == [dtype, dtype, fp] and d_seen["from_rgb"] == dtype
    assert d_seen["epilogue"] == fp and logits.dtype == fp
    G0, _ = networks(SG2, reduced_precision_stages=0)
    G0.eval()
    with torch.no_grad():
        reference = G0(z, noise_mode="const")
    assert (img.detach() - reference).norm() / reference.norm() < 0.05


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float16"])
def test_stylegan2_reduced_precision_regularisers_have_finite_gradients(dtype_name):
    """Path-length and R1 double backward through the reduced-precision blocks.

    bfloat16: every gradient finite. float16 (no loss scaling, as in StyleGAN2-ADA): weight gradients
    may overflow to +-inf, which the official loop maps to +-1e5 (``sanitize_gradients``), but never
    NaN (the fp16 pre-normalisation must not leak its inf-norm into the second derivative).
    """
    G, D = networks(SG2, reduced_precision_stages=4, reduced_dtype=dtype_name, conv_clamp=256)
    z = torch.randn(4, 16)
    ws = G.mapping(z)
    img = G.synthesis(ws)
    (pl_grad,) = torch.autograd.grad((img * torch.randn_like(img)).sum(), ws, create_graph=True)
    x = img.detach().requires_grad_(True)
    (r1_grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    (pl_grad.square().sum() + r1_grad.square().sum()).backward()
    grads = [p.grad for p in list(G.parameters()) + list(D.parameters()) if p.grad is not None]
    assert len(grads) > 0 and not any(torch.isnan(g).any() for g in grads)
    if dtype_name == "bfloat16":
        assert all(torch.isfinite(g).all() for g in grads)
    sanitize_gradients(G), sanitize_gradients(D)
    assert all(torch.isfinite(g).all() for g in grads)


def test_reduced_precision_does_not_change_parameter_counts():
    official_a = {"family": "stylegan2", "conv_clamp": 256, "reduced_precision_stages": 4,
                  "up_conv": "convolution", "w_avg_beta": 0.995}
    assert count_for(official_a, 256, 3, 0) == (24_767_458, 24_001_089)
    official_e = {"family": "r3gan", "widths": [768, 768, 768, 768, 384, 192, 96], "resample_filter": OFFICIAL_TAPS,
                  "reduced_precision_stages": 4}
    assert count_for(official_e, 256, 3, 0) == (23_057_952, 23_009_568)


# ----------------------------------------------------------------------------- true-convolution upsampling


def test_true_convolution_upsampling_against_a_hand_reference():
    """Official up path: zero insertion, true convolution with w (correlation with w flipped), filter."""
    torch.manual_seed(0)
    x, w, f = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3), lowpass_filter([1, 3, 3, 1])
    zeros = torch.zeros(2, 3, 9, 9)
    zeros[..., ::2, ::2] = x  # 2H - 1 samples
    full = F.conv2d(F.pad(zeros, [2, 2, 2, 2]), w.flip([2, 3]))  # [.., 2H + 1, 2W + 1]
    reference = filter2d(full, f, pad=(1, 1), gain=4.0)
    assert torch.allclose(conv3x3_up_2x(x, w, f, true_convolution=True), reference, atol=1e-5)
    assert torch.allclose(conv3x3_up_2x(x, w.flip([2, 3]), f), reference, atol=1e-5)
    assert not torch.allclose(conv3x3_up_2x(x, w, f), reference, atol=1e-2)


def test_official_checkpoint_loads_into_true_convolution_generator():
    """An official state dict holds kernels for a true convolution: the correlation net's up kernels
    flipped. Loaded into up_conv: convolution, it computes the same images as the correlation net."""
    G_corr, _ = networks(SG2, up_conv="correlation")
    G_conv, _ = networks(SG2, seed=1, up_conv="convolution")
    official = {k: (v.flip([2, 3]) if k.endswith("conv0.weight") else v) for k, v in G_corr.state_dict().items()}
    assert sum(k.endswith("conv0.weight") for k in official) == 3  # the 8, 16, 32 upsampling layers
    G_conv.load_state_dict(official)
    G_corr.eval(), G_conv.eval()
    z = torch.randn(3, 16)
    with torch.no_grad():
        assert torch.allclose(G_conv(z, noise_mode="const"), G_corr(z, noise_mode="const"), atol=1e-5)
        G_conv.load_state_dict(G_corr.state_dict())  # unflipped: a different function
        assert not torch.allclose(G_conv(z, noise_mode="const"), G_corr(z, noise_mode="const"), atol=1e-3)


# ----------------------------------------------------------------------------- w_avg


def test_w_avg_decay_and_update_flag():
    G, _ = networks(SG2, w_avg_beta=0.995)
    G.train()
    z = torch.randn(8, 16)
    with torch.no_grad():
        ws = G.mapping(z)  # the main call updates w_avg: lerp(mean w, w_avg = 0, 0.995)
        assert torch.allclose(G.mapping.w_avg, 0.005 * ws[:, 0].mean(0), atol=1e-7)
        before = G.mapping.w_avg.clone()
        G.mapping(torch.randn(8, 16), update_w_avg=False)  # the style-mixing call must not update it
        assert torch.equal(G.mapping.w_avg, before)
        G.mapping(torch.randn(8, 16))
        assert not torch.equal(G.mapping.w_avg, before)


# ----------------------------------------------------------------------------- gradients


def test_sanitize_gradients_replaces_only_non_finite_values():
    net = nn.Linear(3, 2)
    net.weight.grad = torch.tensor([[float("nan"), float("inf"), -float("inf")], [1e6, -2.5, 0.0]])
    sanitize_gradients(net)  # bias has no gradient: left alone
    assert torch.equal(net.weight.grad, torch.tensor([[0.0, 1e5, -1e5], [1e6, -2.5, 0.0]]))
    assert net.bias.grad is None


# ----------------------------------------------------------------------------- config errors


@pytest.mark.parametrize("knobs, pattern", [
    ({"reduced_dtype": "fp8"}, "'reduced_dtype' must be a one of"),
    ({"up_conv": "flip"}, "'up_conv' must be a one of"),
    ({"conv_clamp": 0}, "'conv_clamp' must be a positive number or null"),
    ({"w_avg_beta": 1.5}, r"'w_avg_beta' must be a number in \[0, 1\]"),
    ({"reduced_precision_stages": -1}, "'reduced_precision_stages' must be a int >= 0"),
])
def test_invalid_numerics_knobs(knobs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_networks({"family": "stylegan2", **knobs}, resolution=8, img_channels=3, num_classes=0)


def test_stylegan2_only_knobs_are_rejected_for_r3gan():
    with pytest.raises(ConfigError, match="'conv_clamp' is a knob of the stylegan2 family"):
        build_networks({**R3, "conv_clamp": 256}, resolution=32, img_channels=3, num_classes=0)
