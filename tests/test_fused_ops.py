"""fused.filter_conv (the resampling filter) equals the plain ops: forward, gradients, R1-style double backward."""

import pytest
import torch
import torch.nn.functional as F

from ganrepro.models import fused
from ganrepro.models.layers import LRELU_SLOPE, downsample_2x, lowpass_filter, upsample_2x


def _plain_filter(x, f, pad, stride=1, gain=1.0):
    kernel = (torch.outer(f, f) * gain)[None, None].expand(x.shape[1], 1, -1, -1)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, kernel, stride=stride, groups=x.shape[1])


def _first_and_second_order(fn, x, params):
    """fn's output, d(sum out * r)/d(x, params), and d||d(out.r)/dx||^2/d(x, params) (the R1 structure)."""
    x = x.detach().requires_grad_(True)
    out = fn(x)
    r = torch.randn_like(out, generator=torch.Generator().manual_seed(1))
    (gx,) = torch.autograd.grad((out * r).sum(), x, create_graph=True)
    first = torch.autograd.grad((out * r).sum(), [x, *params], retain_graph=True, allow_unused=True)
    second = torch.autograd.grad(gx.square().sum() + (out * r).sum(), [x, *params], allow_unused=True)
    return [out, *first, *second]


def _assert_same(a, b, tol=1e-5):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        if u is None or v is None:  # a term that is identically zero: one side may skip it
            w = u if u is not None else v
            assert w is None or w.abs().max() <= tol
            continue
        assert u.shape == v.shape
        scale = max(u.abs().max().item(), 1e-6)
        assert (u - v).abs().max().item() <= tol * scale, (u - v).abs().max().item() / scale


@pytest.mark.parametrize("taps", [(1, 2, 1), (1, 3, 3, 1)])
@pytest.mark.parametrize("kind", ["down", "up", "crop"])
def test_filter_conv_equals_plain(taps, kind):
    torch.manual_seed(0)
    f = lowpass_filter(taps)
    x = torch.randn(3, 5, 9, 9) if kind != "up" else torch.randn(3, 5, 5, 5)
    scale = torch.randn(1, 5, 1, 1, requires_grad=True)  # a parameter in front, as in a network
    fw = f.shape[0]
    if kind == "down":
        new, old = (lambda x: downsample_2x(x * scale, f)), \
            (lambda x: _plain_filter(x * scale, f, ((fw - 1) // 2, (fw - 2) // 2), stride=2))
    elif kind == "up":
        def old(x):
            n, c, h, w = x.shape
            z = F.pad((x * scale).reshape(n, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(n, c, 2 * h, 2 * w)
            return _plain_filter(z, f, ((fw + 1) // 2, (fw - 2) // 2), gain=4.0)
        new = lambda x: upsample_2x(x * scale, f)  # noqa: E731
    else:  # negative padding (a crop) and stride 2
        kernel = torch.outer(f, f)[None, None].expand(5, 1, -1, -1)
        new = lambda x: fused.filter_conv(x * scale, kernel, (-1, 2), stride=2)  # noqa: E731
        old = lambda x: _plain_filter(x * scale, f, (-1, 2), stride=2)  # noqa: E731
    _assert_same(_first_and_second_order(new, x, [scale]), _first_and_second_order(old, x, [scale]))
