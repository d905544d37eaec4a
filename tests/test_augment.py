"""Behaviour of the ADA-style augmentation pipeline (tiny CPU tensors; seconds in total)."""

from __future__ import annotations

import math

import pytest
import torch

from ganrepro.errors import ConfigError
from ganrepro.training.augment import (
    PRESETS,
    TRANSFORMS,
    AugmentPipe,
    apply_blit,
    apply_color,
    apply_cutout,
    apply_geometric,
)


def only(*names: str, **strengths) -> AugmentPipe:
    """A pipe with just ``names`` enabled at multiplier 1."""
    mult = {k: (1 if k in names else 0) for k in TRANSFORMS}
    return AugmentPipe(**mult, **strengths)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n=8, c=3, h=16, w=None, seed=0) -> torch.Tensor:
    return torch.rand(n, c, h, w or h, generator=gen(seed)) * 2 - 1


def rot2(theta: float) -> torch.Tensor:
    c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def translate(tx: float, ty: float) -> torch.Tensor:
    return torch.tensor([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


# --- identity and presets -------------------------------------------------------------------


def test_p_zero_returns_input_object():
    x = images()
    pipe = AugmentPipe.from_preset("r3gan")
    assert pipe(x, 0.0, gen()) is x
    assert pipe(x, 0, None) is x


def test_none_preset_is_identity_and_presets_match_brief():
    x = images()
    assert AugmentPipe.from_preset("none")(x, 1.0, gen()) is x
    r3 = AugmentPipe.from_preset("r3gan").mult
    assert r3 == {k: float(v) for k, v in PRESETS["r3gan"].items()}
    assert all(r3[k] == 1 for k in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "cutout"))
    assert all(r3[k] == 0.5 for k in ("brightness", "contrast", "lumaflip", "hue", "saturation"))
    assert AugmentPipe.from_preset("r3gan").mult == AugmentPipe().mult  # defaults = R3GAN
    with pytest.raises(ConfigError, match="r3gan"):
        AugmentPipe.from_preset("bgc")


def test_invalid_arguments():
    pipe = AugmentPipe()
    with pytest.raises(ValueError):
        pipe(images(), 1.5)
    with pytest.raises(ValueError):
        pipe(images(c=2), 0.5)
    with pytest.raises(ValueError):
        AugmentPipe(xflip=-1)


def test_untransformed_samples_are_bit_exact():
    # With a small p most samples draw nothing; those must come back exactly.
    x = images(n=64)
    pipe = AugmentPipe.from_preset("r3gan")
    y = pipe(x, 0.05, gen(3))
    m = pipe.last_params.masks
    untouched = ~torch.stack([m[k] for k in TRANSFORMS]).any(0)
    assert untouched.sum() > 10
    assert torch.equal(y[untouched], x[untouched])


# --- pixel blitting ---------------------------------------------------------------------------


def test_xflip_matches_torch_flip_and_half_are_flipped():
    x = images(n=400, h=8)
    pipe = only("xflip")
    y = pipe(x, 1.0, gen(1))
    flipped = torch.tensor([torch.equal(y[i], x[i].flip(2)) for i in range(len(x))])
    same = torch.tensor([torch.equal(y[i], x[i]) for i in range(len(x))])
    assert bool((flipped | same).all())  # exact: torch.flip on the width dim or untouched
    assert 0.4 < flipped.float().mean().item() < 0.6
    assert bool(pipe.last_params.masks["xflip"].all())  # p * 1 = 1: every gate passes


def test_rotate90_outputs_are_exact_rot90_and_four_quarter_turns_are_identity():
    x = images(n=64, h=8)
    y = only("rotate90")(x, 1.0, gen(2))
    seen = set()
    for i in range(len(x)):
        ks = [k for k in range(4) if torch.equal(y[i], torch.rot90(x[i], k, (1, 2)))]
        assert len(ks) == 1
        seen.add(ks[0])
    assert seen == {0, 1, 2, 3}
    quarter = rot2(math.pi / 2).round().expand(len(x), 3, 3)
    z = x
    for _ in range(4):
        z = apply_blit(z, quarter)
    assert torch.equal(z, x)
    assert torch.equal(apply_blit(x, quarter), torch.rot90(x, 1, (2, 3)))


def test_integer_translation_preserves_pixels_and_inverts():
    n, h = 4, 16
    x = images(n=n, h=h)
    tx, ty = 3, -2  # pixels; doubled coordinates use 2*t
    fwd = translate(-2 * tx, -2 * ty).expand(n, 3, 3)
    inv = translate(2 * tx, 2 * ty).expand(n, 3, 3)
    y = apply_blit(x, fwd)
    # out(x, y) = in(x - tx, y - ty): moved right by 3 and up by 2
    assert torch.equal(y[:, :, : h - 2, 3:], x[:, :, 2:, : h - 3])
    back = apply_blit(y, inv)
    assert torch.equal(back[:, :, 3 : h - 3, 3 : h - 3], x[:, :, 3 : h - 3, 3 : h - 3])
    assert not torch.equal(back, x)  # the border came from reflect padding
    # A zero-padded object keeps its pixel multiset under a translation smaller than the padding.
    obj = torch.zeros(1, 1, h, h)
    obj[0, 0, 5:11, 5:11] = torch.arange(1, 37, dtype=torch.float32).view(6, 6)
    moved = apply_blit(obj, translate(-2 * tx, -2 * ty)[None])
    assert torch.equal(moved.flatten().sort().values, obj.flatten().sort().values)


def test_xint_pipeline_moves_by_whole_pixels_within_range():
    x = images(n=32, h=16)
    pipe = only("xint")
    y = pipe(x, 1.0, gen(4))
    b = pipe.last_params.blit
    t = -b[:, :2, 2] / 2  # pixel translation (x, y)
    assert torch.equal(t, t.round()) and t.abs().max() <= 0.125 * 16
    for i in range(len(x)):
        tx, ty = int(t[i, 0]), int(t[i, 1])
        # interior check: out[y, x] = in[y - ty, x - tx]
        yy = slice(max(ty, 0), 16 + min(ty, 0))
        xx = slice(max(tx, 0), 16 + min(tx, 0))
        src_y = slice(max(-ty, 0), 16 + min(-ty, 0))
        src_x = slice(max(-tx, 0), 16 + min(-tx, 0))
        assert torch.equal(y[i, :, yy, xx], x[i, :, src_y, src_x])


# --- geometric --------------------------------------------------------------------------------


@pytest.mark.parametrize("supersample", [1, 2, 3])
def test_geometric_identity_and_exact_special_cases(supersample):
    x = images(n=3, h=16)
    eye = torch.eye(3).expand(3, 3, 3)
    assert (apply_geometric(x, eye, supersample) - x).abs().max() < 1e-5
    # Quarter turn through grid_sample == torch.rot90 (checks coordinate conventions).
    y = apply_geometric(x, rot2(math.pi / 2).expand(3, 3, 3), supersample)
    assert (y - torch.rot90(x, 1, (2, 3))).abs().max() < 1e-5
    # Whole-pixel translation == blit in the interior.
    yg = apply_geometric(x, translate(2.0, -1.0).expand(3, 3, 3), supersample)
    yb = apply_blit(x, translate(4.0, -2.0).expand(3, 3, 3))
    assert (yg - yb)[:, :, 1:, :-2].abs().max() < 1e-5


def test_supersampled_translation_equals_bilinear_and_minification_is_smoother():
    x = images(n=2, h=16)
    t = translate(0.3, -0.7).expand(2, 3, 3)
    assert (apply_geometric(x, t, 2) - apply_geometric(x, t, 1)).abs().max() < 1e-5
    # Checkerboard shrunk 2x: plain bilinear aliases, 2x supersampling averages towards 0.
    checker = ((torch.arange(16)[:, None] + torch.arange(16)[None]) % 2).float().mul(2).sub(1)
    checker = checker.expand(1, 1, 16, 16)
    shrink = torch.diag(torch.tensor([2.0, 2.0, 1.0]))[None] @ rot2(0.3)[None]
    assert apply_geometric(checker, shrink, 2).std() < apply_geometric(checker, shrink, 1).std()


@pytest.mark.parametrize("k", [2, 3])
def test_supersampling_equals_explicit_nearest_upsample_then_box_down(k):
    # The implementation folds the nearest upsampling into the sampling coordinates.
    import torch.nn.functional as F

    x = images(n=4, h=8)
    m = torch.stack([rot2(0.4) @ torch.diag(torch.tensor([1.3, 0.7, 1.0])) @ translate(0.6, -1.2)] * 4)
    m[1] = torch.diag(torch.tensor([0.5, 0.5, 1.0])) @ rot2(-2.0)  # magnify
    m[2] = torch.diag(torch.tensor([2.5, 1.5, 1.0])) @ translate(3.3, 0.2)  # shrink, reflect far
    s = torch.tensor([4.0, 4.0, 1.0])
    theta = ((m * s.view(1, 1, 3)) / s.view(1, 3, 1))[:, :2]
    up = x.repeat_interleave(k, 2).repeat_interleave(k, 3)
    grid = F.affine_grid(theta, [4, 3, 8 * k, 8 * k], align_corners=False)
    ref = F.avg_pool2d(F.grid_sample(up, grid, padding_mode="reflection", align_corners=False), k)
    assert (apply_geometric(x, m, k) - ref).abs().max() < 1e-5


def test_geometric_pipeline_only_touches_selected_samples():
    x = images(n=64, h=8)
    pipe = only("scale", "rotate", "aniso", "xfrac")
    y = pipe(x, 0.3, gen(5))
    active = pipe.last_params.geom_active
    assert 0 < active.sum() < 64
    assert torch.equal(y[~active], x[~active])
    assert ((y[active] - x[active]).flatten(1).abs().amax(1) > 1e-3).all()


# --- colour -----------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_brightness_shifts_mean_only(channels):
    x = images(n=16, c=channels)
    pipe = only("brightness")
    y = pipe(x, 1.0, gen(6))
    d = y - x
    b = d.flatten(1).mean(1)
    assert torch.allclose(d, b.view(-1, 1, 1, 1).expand_as(d), atol=1e-6)  # constant offset
    assert torch.allclose(y.flatten(1).std(1), x.flatten(1).std(1), atol=1e-5)
    assert 0.1 < b.std() < 0.35  # brightness_std = 0.2
    assert torch.allclose(b, pipe.last_params.color[:, 0, 3], atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_contrast_scales_about_zero(channels):
    x = images(n=16, c=channels)
    pipe = only("contrast")
    y = pipe(x, 1.0, gen(7))
    c = pipe.last_params.color[:, 0, 0]
    assert torch.allclose(y, x * c.view(-1, 1, 1, 1), atol=1e-6)
    ratio = y.flatten(1).std(1) / x.flatten(1).std(1)
    assert torch.allclose(ratio, c, rtol=1e-4)
    assert (c > 0).all() and c.log2().std() > 0.2  # 2**N(0, 0.5)


def test_lumaflip_hue_saturation_on_rgb():
    x = images(n=32, c=3)
    luma = x.mean(1, keepdim=True)
    # luma flip: reflection about the grey plane -> x - 2 * mean(x) or unchanged
    y = only("lumaflip")(x, 1.0, gen(8))
    flipped = torch.isclose(y, x - 2 * luma, atol=1e-5).flatten(1).all(1)
    same = torch.equal
    assert all(flipped[i] or same(y[i], x[i]) for i in range(len(x)))
    assert 0.2 < flipped.float().mean() < 0.8
    # hue rotation about the grey axis keeps luma and chroma norm
    y = only("hue")(x, 1.0, gen(9))
    assert torch.allclose(y.mean(1), x.mean(1), atol=1e-5)
    assert torch.allclose((y - y.mean(1, keepdim=True)).norm(dim=1), (x - luma).norm(dim=1), atol=1e-5)
    assert (y - x).abs().max() > 0.1
    # saturation scales chroma about the grey axis, keeping luma
    pipe = only("saturation")
    y = pipe(x, 1.0, gen(10))
    assert torch.allclose(y.mean(1), x.mean(1), atol=1e-5)
    s = pipe.last_params.color[:, 0, 0] * 1.5 - 0.5  # diag = 1/3 + 2/3 * s
    assert torch.allclose(y - y.mean(1, keepdim=True), (x - luma) * s.view(-1, 1, 1, 1), atol=1e-5)


def test_gray_images_get_brightness_contrast_lumaflip_only():
    x = images(n=64, c=1)
    colour = ("brightness", "contrast", "lumaflip", "hue", "saturation")
    pipe = AugmentPipe.from_preset("r3gan", **{k: 0 for k in TRANSFORMS if k not in colour})
    y = pipe(x, 1.0, gen(11))
    m = pipe.last_params.masks
    assert not m["hue"].any() and not m["saturation"].any()
    # y = a * x + b per sample, |a| = contrast gain
    a = ((y - y.mean((1, 2, 3), keepdim=True)) * (x - x.mean((1, 2, 3), keepdim=True))).sum((1, 2, 3))
    a = a / (x - x.mean((1, 2, 3), keepdim=True)).square().sum((1, 2, 3))
    b = y.mean((1, 2, 3)) - a * x.mean((1, 2, 3))
    assert torch.allclose(y, a.view(-1, 1, 1, 1) * x + b.view(-1, 1, 1, 1), atol=1e-5)
    assert ((a < 0) == (m["lumaflip"] & (a < 0))).all()  # negation only from luma flip
    assert (a < 0).any()


def test_color_identity_is_exact():
    x = images(n=4)
    assert torch.equal(apply_color(x, torch.eye(4).expand(4, 4, 4)), x)
    assert torch.equal(apply_color(x[:, :1], torch.eye(4).expand(4, 4, 4)), x[:, :1])


# --- cutout -----------------------------------------------------------------------------------


def test_cutout_zeroes_one_half_size_square():
    n, h = 64, 16
    x = images(n=n, h=h).abs() + 0.1  # no zeros in the input
    pipe = only("cutout")
    y = pipe(x, 1.0, gen(12))
    for i in range(n):
        zero = (y[i] == 0).all(0)
        assert torch.equal(y[i][:, ~zero], x[i][:, ~zero])
        rows, cols = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
        assert len(rows) <= h // 2 and len(cols) <= h // 2
        # zero set is exactly the rectangle rows x cols (contiguous)
        assert zero.sum() == len(rows) * len(cols)
        if len(rows):
            assert rows.max() - rows.min() + 1 == len(rows) and cols.max() - cols.min() + 1 == len(cols)
    area = (y == 0).all(1).float().mean((1, 2))
    assert 0.12 < area.mean() < 0.25  # a quarter of the image, clipped at the borders
    assert torch.equal(apply_cutout(x, torch.rand(n, 2), torch.zeros(n)), x)


# --- probabilities ----------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_application_rates_match_p_times_multiplier(p):
    pipe = AugmentPipe.from_preset("r3gan")
    n = 20000
    params = pipe.sample_params(n, p, height=16, width=16, channels=3, generator=gen(13))
    for name in TRANSFORMS:
        rate = params.masks[name].float().mean().item()
        want = p * pipe.mult[name]
        tol = 5 * math.sqrt(want * (1 - want) / n) + 1e-3
        assert abs(rate - want) < tol, (name, rate, want)
    # the rates seen by forward() are the same gates
    x = images(n=512, h=8)
    pipe(x, p, gen(14))
    assert abs(pipe.last_params.masks["xflip"].float().mean().item() - p) < 0.1


def test_gray_rates_exclude_hue_and_saturation():
    pipe = AugmentPipe.from_preset("r3gan")
    params = pipe.sample_params(5000, 1.0, height=8, width=8, channels=1, generator=gen(15))
    assert not params.masks["hue"].any() and not params.masks["saturation"].any()
    assert abs(params.masks["lumaflip"].float().mean().item() - 0.5) < 0.05


# --- autograd, determinism, shapes ------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_gradients_flow_to_input(channels):
    x = images(n=8, c=channels).requires_grad_(True)
    y = AugmentPipe.from_preset("r3gan")(x, 1.0, gen(16))
    w = torch.randn(y.shape, generator=gen(17))
    (g,) = torch.autograd.grad((y * w).sum(), x)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert (g.flatten(1).abs().sum(1) > 0).all()  # every sample receives gradient


def test_double_backward_for_gradient_penalties():
    # R1-style: penalty = |d D(aug(x)) / dx|^2, backpropagated to D's weights.
    x = images(n=4, c=3, h=8).double().requires_grad_(True)
    conv = torch.nn.Conv2d(3, 4, 3).double()
    y = AugmentPipe.from_preset("r3gan")(x, 1.0, gen(18))
    logits = conv(y).square().sum((1, 2, 3))
    (g,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    g.square().sum().backward()
    assert torch.isfinite(conv.weight.grad).all() and conv.weight.grad.abs().sum() > 0

    # and exact second-order gradients of the (linear) pipe
    def fn(inp):
        return AugmentPipe.from_preset("r3gan")(inp, 1.0, gen(19))

    small = images(n=1, c=3, h=4).double().requires_grad_(True)
    assert torch.autograd.gradgradcheck(fn, (small,), check_undefined_grad=False, fast_mode=True)


def test_deterministic_given_generator():
    x = images(n=16)
    pipe = AugmentPipe.from_preset("r3gan")
    a = pipe(x, 0.8, gen(20))
    b = pipe(x, 0.8, gen(20))
    c = pipe(x, 0.8, gen(21))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_forward_is_the_executors_applied_to_the_sampled_params(preset, p, channels):
    # forward() = sample_params() from the same generator, then blit -> geometric (on the active
    # subset only) -> colour -> cutout, bit for bit; p == 0 and the "none" preset return the input.
    x = images(n=16, c=channels)
    pipe = AugmentPipe.from_preset(preset)
    y = pipe(x, p, gen(23))
    if p == 0.0 or preset == "none":
        assert y is x
        return
    params = pipe.sample_params(16, p, height=16, width=16, channels=channels, generator=gen(23))
    for name in TRANSFORMS:
        assert torch.equal(params.masks[name], pipe.last_params.masks[name])
    want = apply_blit(x, params.blit)
    idx = torch.nonzero(params.geom_active).squeeze(1)
    assert 0 < len(idx) <= 16
    want = want.index_copy(0, idx, apply_geometric(want[idx], params.geom[idx], pipe.supersample))
    want = apply_color(want, params.color)
    if pipe.mult["cutout"] > 0:
        want = apply_cutout(want, params.cutout_center, params.cutout_size)
    else:  # a preset without cutout (epigraf) draws none
        assert params.cutout_center is None
    assert torch.equal(y, want)
    assert not torch.equal(y, x)


def test_random_draw_order_of_single_transforms():
    # The documented order of draws per transform (value first, then its gate), on the generator.
    n, p = 64, 0.5
    params = only("xflip").sample_params(n, p, height=8, width=8, channels=3, generator=gen(24))
    g = gen(24)
    flip = torch.floor(torch.rand(n, generator=g) * 2)
    gate = torch.rand(n, generator=g) < p
    assert torch.equal(params.masks["xflip"], gate) and 0 < gate.sum() < n
    assert torch.equal(params.blit[:, 0, 0], 1 - 2 * torch.where(gate, flip, torch.zeros(n)))
    params = only("cutout", cutout_size=0.25).sample_params(n, p, height=8, width=8, channels=3, generator=gen(25))
    g = gen(25)
    center = torch.rand(n, 2, generator=g)
    gate = torch.rand(n, generator=g) < p
    assert torch.equal(params.cutout_center, center)
    assert torch.equal(params.cutout_size, torch.where(gate, 0.25, 0.0))
    assert params.blit is None and params.geom is None and params.color is None


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("res", [8, 16, 32])
def test_finite_and_shape_preserving(channels, res):
    x = images(n=8, c=channels, h=res)
    for p in (0.3, 1.0):
        y = AugmentPipe.from_preset("r3gan")(x, p, gen(res))
        assert y.shape == x.shape and y.dtype == x.dtype
        assert torch.isfinite(y).all()


def test_non_square_images_skip_rotate90():
    x = images(n=8, h=8, w=16)
    pipe = AugmentPipe.from_preset("r3gan")
    y = pipe(x, 1.0, gen(22))
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert not pipe.last_params.masks["rotate90"].any()
