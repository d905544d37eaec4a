"""The constant low-pass filter of 2x resampling as an autograd function with a cheap double backward.

R1/R2 differentiate D's input gradient again (``create_graph=True``). PyTorch's double backward of a
depthwise convolution computes the weight term (the kernel's gradient) in a loop of one tiny
convolution per channel, and computes it even when the kernel is a constant, as the resampling
filters are (measured: 64 such calls per smoke config-E step, 6% of its D phase). ``filter_conv``
is the same map, ``conv2d(pad(x), kernel, stride, groups=C)``, written as a linear function whose
backward is its adjoint (a transposed conv) and whose adjoint's backward is the map again: no
kernel gradient, ever. tests/test_fused_ops.py checks it against the plain ops, forward, gradients
and the R1-style double backward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------- constant FIR filter


def _filter_forward(x, kernel, pad, stride):
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, kernel, stride=stride, groups=x.shape[1])


def _filter_adjoint(g, kernel, pad, stride, in_size):
    """Adjoint of ``_filter_forward`` for an input of spatial size ``in_size`` (h, w)."""
    k = kernel.shape[-1]
    padded = [s + pad[0] + pad[1] for s in in_size]
    out_pad = [p - ((o - 1) * stride + k) for p, o in zip(padded, g.shape[2:])]
    x = F.conv_transpose2d(g, kernel, stride=stride, output_padding=out_pad, groups=g.shape[1])
    return F.pad(x, [-pad[0], -pad[1], -pad[0], -pad[1]])


class _Filter(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, pad, stride):
        ctx.save_for_backward(kernel)
        ctx.pad, ctx.stride, ctx.in_size = pad, stride, tuple(x.shape[2:])
        return _filter_forward(x, kernel, pad, stride)

    @staticmethod
    def backward(ctx, g):
        (kernel,) = ctx.saved_tensors
        return _FilterAdjoint.apply(g, kernel, ctx.pad, ctx.stride, ctx.in_size), None, None, None


class _FilterAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, g, kernel, pad, stride, in_size):
        ctx.save_for_backward(kernel)
        ctx.pad, ctx.stride = pad, stride
        return _filter_adjoint(g, kernel, pad, stride, in_size)

    @staticmethod
    def backward(ctx, gg):
        (kernel,) = ctx.saved_tensors
        return _Filter.apply(gg, kernel, ctx.pad, ctx.stride), None, None, None, None


def filter_conv(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int], stride: int = 1) -> torch.Tensor:
    """``conv2d(pad(x), kernel, stride, groups=C)`` for a constant depthwise kernel [C, 1, k, k]."""
    return _Filter.apply(x, kernel.detach(), (int(pad[0]), int(pad[1])), int(stride))
