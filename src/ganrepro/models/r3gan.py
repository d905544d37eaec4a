"""R3GAN networks (Huang et al., NeurIPS 2024; roadmap configs D and E).

A minimal modern ConvNet for both G and D: stages of residual blocks
(1x1 -> grouped 3x3 -> 1x1, bias + leaky ReLU between, identity shortcut), joined by
low-pass 2x resampling and 1x1 convs where the width changes. No normalisation, no equalised
learning rate: raw weights with He init, and fix-up initialisation (the last conv of every
residual branch starts at zero, the others are scaled by L^(-1/4)), so G and D are exactly the
identity through every residual branch at init.

G: learned 4x4 basis * Linear(z [+ class embedding]) -> stages 4x4 .. resolution -> 1x1 to RGB.
D: 1x1 from RGB -> stages resolution .. 4x4 -> depthwise 4x4 conv -> Linear -> logit
(conditional: projection onto a class embedding).

``reduced_precision_stages`` = N runs the N highest-resolution stages of G and of D in
``reduced_dtype`` (official ``FP16Stages``: the activations are cast at the stage entry, the
transition of a stage included; G's ToRGB and D's FromRGB run in the dtype of their stage).
The 4x4 stages, the logits and G's output image are float32.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import (
    LRELU_SLOPE,
    R3GAN_LRELU_GAIN,
    GenerativeBasis,
    class_one_hot,
    downsample_2x,
    lowpass_filter,
    upsample_2x,
)
from .precision import REDUCED_DTYPES, Conv2d, Linear, stage_dtypes


def msr_init_(layer: nn.Module, gain: float) -> nn.Module:
    """He/MSR init: weight ~ N(0, gain / sqrt(fan_in)); gain 0 gives zeros."""
    fan_in = layer.weight[0].numel()  # in_features, or in_channels/groups * k * k
    with torch.no_grad():
        if gain == 0:
            layer.weight.zero_()
        else:
            layer.weight.normal_(0.0, gain / math.sqrt(fan_in))
    return layer


def conv(in_channels, out_channels, kernel_size, *, gain, groups=1) -> Conv2d:
    """Bias-free conv with 'same' padding and MSR init (runs in the dtype of its input)."""
    layer = Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, groups=groups, bias=False)
    return msr_init_(layer, gain)


def linear(in_features, out_features, *, gain) -> Linear:
    """Bias-free linear layer with MSR init (runs in the dtype of its input)."""
    return msr_init_(Linear(in_features, out_features, bias=False), gain)


def expanded_width(channels: int, expansion: float) -> int:
    """Width of a residual branch: channels * expansion (validated to be an integer in arch.py)."""
    return int(round(channels * expansion))


def num_groups(hidden: int, group_size) -> int:
    """Groups of the 3x3 conv: hidden / group_size (dense when group_size is None or >= hidden)."""
    return 1 if group_size is None else hidden // min(group_size, hidden)


class BiasLeakyReLU(nn.Module):
    """Per-channel bias, then leaky ReLU(0.2). No output gain: R3GAN folds it into the init."""

    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.leaky_relu(x + self.bias.to(x.dtype)[None, :, None, None], LRELU_SLOPE)


class ResidualBlock(nn.Module):
    """x + conv1x1(act(conv3x3_grouped(act(conv1x1(x))))), the last conv zero at init (fix-up)."""

    def __init__(self, channels, *, expansion, group_size, total_blocks):
        super().__init__()
        hidden = expanded_width(channels, expansion)
        gain = R3GAN_LRELU_GAIN * total_blocks ** (-0.25)
        self.conv1 = conv(channels, hidden, 1, gain=gain)
        self.act1 = BiasLeakyReLU(hidden)
        self.conv2 = conv(hidden, hidden, 3, gain=gain, groups=num_groups(hidden, group_size))
        self.act2 = BiasLeakyReLU(hidden)
        self.conv3 = conv(hidden, channels, 1, gain=0.0)

    def forward(self, x):
        return x + self.conv3(self.act2(self.conv2(self.act1(self.conv1(x)))))


class UpTransition(nn.Module):
    """Generator transition: [1x1 conv when the width changes] -> low-pass 2x upsampling."""

    def __init__(self, in_channels, out_channels, *, resample_filter):
        super().__init__()
        self.conv = conv(in_channels, out_channels, 1, gain=1.0) if in_channels != out_channels else None
        self.register_buffer("resample_filter", lowpass_filter(resample_filter), persistent=False)

    def forward(self, x):
        if self.conv is not None:
            x = self.conv(x)
        return upsample_2x(x, self.resample_filter)


class DownTransition(nn.Module):
    """Discriminator transition: low-pass 2x downsampling -> [1x1 conv when the width changes]."""

    def __init__(self, in_channels, out_channels, *, resample_filter):
        super().__init__()
        self.conv = conv(in_channels, out_channels, 1, gain=1.0) if in_channels != out_channels else None
        self.register_buffer("resample_filter", lowpass_filter(resample_filter), persistent=False)

    def forward(self, x):
        x = downsample_2x(x, self.resample_filter)
        return self.conv(x) if self.conv is not None else x


def _stage_blocks(channels, count, **block_kw):
    return [ResidualBlock(channels, **block_kw) for _ in range(count)]


class R3GANGenerator(nn.Module):
    """G(z, c) -> images [N, C, H, W] (no output nonlinearity)."""

    def __init__(self, *, resolution, img_channels, num_classes, widths, blocks_per_stage=2, expansion=2.0,
                 group_size=16, z_dim=64, c_embed_dim_g=64, output_skips=False, resample_filter=(1, 2, 1),
                 reduced_precision_stages=0, reduced_dtype="bfloat16"):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, num_classes
        self.stage_dtypes = stage_dtypes(len(widths), reduced_precision_stages, REDUCED_DTYPES[reduced_dtype])
        self.img_resolution, self.img_channels = resolution, img_channels
        self.output_skips = output_skips
        block_kw = dict(expansion=expansion, group_size=group_size, total_blocks=blocks_per_stage * len(widths))
        self.embed = linear(num_classes, c_embed_dim_g, gain=1.0) if num_classes else None
        self.basis = GenerativeBasis(z_dim + (c_embed_dim_g if num_classes else 0), widths[0])
        self.stages = nn.ModuleList()
        for i, width in enumerate(widths):
            transition = [UpTransition(widths[i - 1], width, resample_filter=resample_filter)] if i > 0 else []
            self.stages.append(nn.Sequential(*transition, *_stage_blocks(width, blocks_per_stage, **block_kw)))
        if output_skips:  # a ToRGB per stage, upsampled and summed (StyleGAN2 "skip" output)
            self.to_rgb = nn.ModuleList(conv(w, img_channels, 1, gain=1.0) for w in widths)
        else:
            self.to_rgb = conv(widths[-1], img_channels, 1, gain=1.0)
        self.register_buffer("resample_filter", lowpass_filter(resample_filter), persistent=False)

    def forward(self, z, c=None):
        x = z
        one_hot = class_one_hot(c, self.c_dim, z.shape[0], z.dtype)
        if one_hot is not None:
            x = torch.cat([z, self.embed(one_hot)], dim=1)
        x = self.basis(x)
        img = None
        for i, stage in enumerate(self.stages):
            x = stage(x.to(self.stage_dtypes[i]))
            if self.output_skips:
                y = self.to_rgb[i](x).float()
                img = y if img is None else upsample_2x(img, self.resample_filter) + y
        return img if self.output_skips else self.to_rgb(x).float()


class R3GANDiscriminator(nn.Module):
    """D(x, c) -> logits [N]."""

    per_sample = True  # no batch statistics: a sample's logit depends on that sample only

    def __init__(self, *, resolution, img_channels, num_classes, widths, blocks_per_stage=2, expansion=2.0,
                 group_size=16, c_embed_dim_d=None, resample_filter=(1, 2, 1), reduced_precision_stages=0,
                 reduced_dtype="bfloat16"):
        super().__init__()
        self.c_dim, self.img_resolution, self.img_channels = num_classes, resolution, img_channels
        # D's stages run from the highest resolution down to 4x4.
        self.stage_dtypes = stage_dtypes(len(widths), reduced_precision_stages, REDUCED_DTYPES[reduced_dtype])[::-1]
        block_kw = dict(expansion=expansion, group_size=group_size, total_blocks=blocks_per_stage * len(widths))
        self.from_rgb = conv(img_channels, widths[-1], 1, gain=1.0)
        self.stages = nn.ModuleList()
        for i in reversed(range(len(widths))):
            transition = [DownTransition(widths[i], widths[i - 1], resample_filter=resample_filter)] if i > 0 else []
            self.stages.append(nn.Sequential(*_stage_blocks(widths[i], blocks_per_stage, **block_kw), *transition))
        out_dim = (c_embed_dim_d or widths[0]) if num_classes else 1
        # Discriminative basis: depthwise 4x4 "valid" conv to [N, C0, 1, 1], then a linear layer.
        self.basis_conv = msr_init_(Conv2d(widths[0], widths[0], 4, groups=widths[0], bias=False), 1.0)
        self.basis_linear = linear(widths[0], out_dim, gain=1.0)
        self.embed = linear(num_classes, out_dim, gain=1.0 / math.sqrt(out_dim)) if num_classes else None

    def forward(self, img, c=None):
        x = self.from_rgb(img.to(self.stage_dtypes[0]))
        for stage, dtype in zip(self.stages, self.stage_dtypes):
            x = stage(x.to(dtype))
        x = self.basis_linear(self.basis_conv(x).flatten(1))
        one_hot = class_one_hot(c, self.c_dim, img.shape[0], x.dtype)
        if one_hot is None:
            return x[:, 0]
        return (x * self.embed(one_hot)).sum(dim=1)
