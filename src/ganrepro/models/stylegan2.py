"""StyleGAN2 in pure PyTorch (R3GAN roadmap configs A and B).

Generator: mapping network (z -> w) + synthesis network (learned 4x4 const, per resolution two
modulated/demodulated 3x3 convs with noise, "skip" ToRGB outputs summed over resolutions).
Discriminator: "resnet" architecture (FromRGB at the top resolution, residual blocks with 2x
downsampling, epilogue with minibatch stddev, conv, two FC layers, projection for classes).

Every mechanism the R3GAN roadmap strips from StyleGAN2 is a switch (see ``arch.py``):
``mapping_layers: 0`` + ``style_modulation: false`` turns the generator into a plain conv net
whose latent enters through a learned 4x4 basis (config B); ``noise``, ``z_normalize``,
``equalized_lr`` and ``mbstd_group`` switch the rest. Parameter layout and counts follow the
official StyleGAN2-ADA implementation (G 24.767M / D 24.001M at FFHQ-256, config A).

Numerics of the official code, each a knob (see ``arch.py``): ``conv_clamp`` clamps the output of
every conv layer (not the D skip convs, not the FC layers) to +-conv_clamp * gain;
``reduced_precision_stages`` = N runs the N highest resolutions of G's synthesis and D's blocks
in ``reduced_dtype`` (``num_fp16_res``; never the 4x4 block, the mapping network, ToRGB's image
accumulation or D's epilogue); ``up_conv: convolution`` makes the upsampling 3x3 convs true
convolutions (``flip_weight=False``), so official checkpoints load unflipped.
"""

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import (
    LRELU_SLOPE,
    STYLEGAN_LRELU_GAIN,
    GenerativeBasis,
    StyleConv2d,
    StyleLinear,
    class_one_hot,
    clamp_activations,
    conv3x3_up_2x,
    lowpass_filter,
    new_weight,
    normalize_2nd_moment,
    upsample_2x,
)
from .precision import REDUCED_DTYPES, stage_dtypes


def channels_per_resolution(resolution: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """{4: C4, 8: C8, ..., resolution: C}: min(channel_base // res, channel_max)."""
    resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
    return {res: min(channel_base // res, channel_max) for res in resolutions}


# ----------------------------------------------------------------------------- mapping network


class MappingNetwork(nn.Module):
    """z (+ class embedding) -> w, broadcast to ``num_ws`` copies; tracks the average w."""

    def __init__(self, *, z_dim, c_dim, w_dim, num_ws, num_layers, normalize=True, equalized=True,
                 lr_multiplier=0.01, w_avg_beta=0.998):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.normalize, self.w_avg_beta = normalize, w_avg_beta
        self.embed = StyleLinear(c_dim, w_dim, equalized=equalized) if c_dim else None
        features = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            StyleLinear(a, b, lr_mul=lr_multiplier, activation="lrelu", equalized=equalized)
            for a, b in zip(features[:-1], features[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_w_avg=None):
        """ws [N, num_ws, w_dim]. The running average of w (for truncation) is updated when
        ``update_w_avg`` is True, by default whenever the module is in training mode."""
        x = normalize_2nd_moment(z) if self.normalize else z
        one_hot = class_one_hot(c, self.c_dim, z.shape[0], z.dtype)
        if one_hot is not None:
            y = self.embed(one_hot)
            x = torch.cat([x, normalize_2nd_moment(y) if self.normalize else y], dim=1)
        for layer in self.layers:
            x = layer(x)
        if self.training if update_w_avg is None else update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        ws = x[:, None].repeat(1, self.num_ws, 1)  # a real tensor: style mixing may write into it
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            truncated = self.w_avg.to(ws.dtype).lerp(ws[:, :cutoff], truncation_psi)
            ws = torch.cat([truncated, ws[:, cutoff:]], dim=1)
        return ws


# ----------------------------------------------------------------------------- synthesis network


class SynthesisLayer(nn.Module):
    """3x3 conv: [2x up] -> [modulate by affine(w), demodulate] -> [+ noise] -> bias + lrelu [-> clamp].

    Runs in the dtype of its input x; styles and demodulation coefficients are computed in float32
    (w is float32) and cast, as in StyleGAN2-ADA's non-fused ``modulated_conv2d``.
    """

    def __init__(self, in_channels, out_channels, *, w_dim, resolution, up=False, modulated=True,
                 noise=True, equalized=True, resample_filter=(1, 3, 3, 1), conv_clamp=None,
                 true_convolution=False):
        super().__init__()
        self.up, self.modulated, self.resolution = up, modulated, resolution
        self.conv_clamp, self.true_convolution = conv_clamp, true_convolution
        self.affine = StyleLinear(w_dim, in_channels, bias_init=1.0, equalized=equalized) if modulated else None
        self.weight, self.weight_gain = new_weight(
            [out_channels, in_channels, 3, 3], fan_in=in_channels * 9, equalized=equalized,
            init_gain=1.0 if equalized else STYLEGAN_LRELU_GAIN)
        self.act_gain = STYLEGAN_LRELU_GAIN if equalized else 1.0
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.use_noise = noise
        if noise:
            self.noise_strength = nn.Parameter(torch.zeros([]))
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.register_buffer("resample_filter", lowpass_filter(resample_filter), persistent=False)

    def forward(self, x, w=None, noise_mode="random"):
        dtype = x.dtype
        weight = self.weight * self.weight_gain
        if self.modulated:
            styles = self.affine(w)  # [N, in]
            if dtype == torch.float16:
                # Official guard against fp16 overflow: scale each output kernel and each sample's styles
                # by their max-abs. Demodulation cancels both factors, so their exact gradient is zero;
                # they are constants here (torch's second derivative of the inf-norm gives NaN).
                with torch.no_grad():
                    w_scale = weight[0].numel() ** -0.5 / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
                    s_scale = 1 / styles.norm(float("inf"), dim=1, keepdim=True)
                weight, styles = weight * w_scale, styles * s_scale
            x = x * styles.to(dtype)[:, :, None, None]
        conv_weight = weight.to(dtype)
        if self.up:
            x = conv3x3_up_2x(x, conv_weight, self.resample_filter, true_convolution=self.true_convolution)
        else:
            x = F.conv2d(x, conv_weight, padding=1)
        if self.modulated:  # demodulation: unit expected std of every output channel
            demod = (styles.square() @ weight.square().sum([2, 3]).t() + 1e-8).rsqrt()  # [N, out]
            x = x * demod.to(dtype)[:, :, None, None]
        if self.use_noise and noise_mode != "none":
            if noise_mode == "random":
                noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device)
            elif noise_mode == "const":
                noise = self.noise_const
            else:
                raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
            x = x + (noise * self.noise_strength).to(dtype)  # scaled in float32, then cast (official)
        x = F.leaky_relu(x + self.bias.to(dtype)[None, :, None, None], LRELU_SLOPE) * self.act_gain
        return clamp_activations(x, self.conv_clamp)


class ToRGB(nn.Module):
    """1x1 conv to image channels, modulated by affine(w) but not demodulated; no activation [-> clamp]."""

    def __init__(self, in_channels, img_channels, *, w_dim, modulated=True, equalized=True, conv_clamp=None):
        super().__init__()
        self.modulated, self.conv_clamp = modulated, conv_clamp
        self.affine = StyleLinear(w_dim, in_channels, bias_init=1.0, equalized=equalized) if modulated else None
        self.weight, self.weight_gain = new_weight([img_channels, in_channels, 1, 1], fan_in=in_channels,
                                                   equalized=equalized)
        self.bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x, w=None):
        if self.modulated:
            x = x * self.affine(w).to(x.dtype)[:, :, None, None]
        x = F.conv2d(x, (self.weight * self.weight_gain).to(x.dtype)) + self.bias.to(x.dtype)[None, :, None, None]
        return clamp_activations(x, self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const at 4x4 | 2x-up conv) -> conv -> [ToRGB, added to the upsampled image].

    The features run in ``dtype`` (cast at the block entry); the image is always float32.
    """

    def __init__(self, in_channels, out_channels, *, resolution, img_channels, w_dim, to_rgb=True,
                 const_input=True, modulated=True, noise=True, equalized=True, resample_filter=(1, 3, 3, 1),
                 conv_clamp=None, true_convolution=False, dtype=torch.float32):
        super().__init__()
        self.resolution, self.first, self.dtype = resolution, resolution == 4, dtype
        layer = dict(w_dim=w_dim, resolution=resolution, modulated=modulated, noise=noise,
                     equalized=equalized, resample_filter=resample_filter, conv_clamp=conv_clamp)
        if self.first:
            self.const = nn.Parameter(torch.randn(out_channels, 4, 4)) if const_input else None
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=True, true_convolution=true_convolution,
                                        **layer)
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer)
        self.torgb = ToRGB(out_channels, img_channels, w_dim=w_dim, modulated=modulated,
                           equalized=equalized, conv_clamp=conv_clamp) if to_rgb else None
        self.num_conv = 1 if self.first else 2
        self.num_torgb = 1 if to_rgb else 0
        self.register_buffer("resample_filter", lowpass_filter(resample_filter), persistent=False)

    def forward(self, x, img, ws=None, noise_mode="random", batch_size=None):
        """ws: [N, num_conv + num_torgb, w_dim] or None (unmodulated). Returns (x, img)."""
        w_iter = iter(ws.unbind(1)) if ws is not None else itertools.repeat(None)
        if self.first:
            if x is None:
                x = self.const[None].expand(batch_size, -1, -1, -1)
            x = x.to(self.dtype)
        else:
            x = self.conv0(x.to(self.dtype), next(w_iter), noise_mode)
        x = self.conv1(x, next(w_iter), noise_mode)
        if img is not None:
            img = upsample_2x(img, self.resample_filter)
        if self.torgb is not None:
            y = self.torgb(x, next(w_iter)).float()
            img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> images [N, C, H, W]; blocks at 4, 8, ..., resolution."""

    def __init__(self, *, w_dim, resolution, img_channels, channels, output_skips=True, const_input=True,
                 modulated=True, noise=True, equalized=True, resample_filter=(1, 3, 3, 1), conv_clamp=None,
                 true_convolution=False, reduced_precision_stages=0, reduced_dtype="bfloat16"):
        super().__init__()
        self.w_dim, self.resolution, self.modulated = w_dim, resolution, modulated
        resolutions = sorted(channels)
        dtypes = stage_dtypes(len(resolutions), reduced_precision_stages, REDUCED_DTYPES[reduced_dtype])
        self.blocks = nn.ModuleList(
            SynthesisBlock(channels[res // 2] if res > 4 else 0, channels[res], resolution=res,
                           img_channels=img_channels, w_dim=w_dim,
                           to_rgb=output_skips or res == resolution, const_input=const_input,
                           modulated=modulated, noise=noise, equalized=equalized,
                           resample_filter=resample_filter, conv_clamp=conv_clamp,
                           true_convolution=true_convolution, dtype=dtype)
            for res, dtype in zip(resolutions, dtypes))
        # A block's ToRGB shares its w with the next block's first conv (StyleGAN2 convention).
        self.num_ws = sum(b.num_conv for b in self.blocks) + self.blocks[-1].num_torgb

    def forward(self, ws=None, noise_mode="random", x=None):
        """x: optional [N, C4, 4, 4] input replacing the learned const (generators without mapping)."""
        if self.modulated and (ws is None or ws.shape[1] != self.num_ws):
            raise ValueError(f"synthesis needs ws of shape [N, {self.num_ws}, {self.w_dim}]")
        batch_size = ws.shape[0] if ws is not None else None
        img, w_idx = None, 0
        for block in self.blocks:
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb) if ws is not None else None
            w_idx += block.num_conv
            x, img = block(x, img, block_ws, noise_mode, batch_size)
        return img


class StyleGAN2Generator(nn.Module):
    """G(z, c) -> images. With a mapping network: G.mapping(z, c) -> ws and G.synthesis(ws) -> images."""

    @property
    def style_mixing_capable(self) -> bool:
        """True with a mapping network: objectives may style-mix and regularise path length."""
        return hasattr(self, "mapping")

    def __init__(self, *, resolution, img_channels, num_classes, channel_base=16384, channel_max=512,
                 z_dim=512, w_dim=512, mapping_layers=8, z_normalize=True, style_modulation=True,
                 noise=True, equalized_lr=True, g_output_skips=True, resample_filter=(1, 3, 3, 1),
                 conv_clamp=None, reduced_precision_stages=0, reduced_dtype="bfloat16", up_conv="correlation",
                 w_avg_beta=0.998):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, num_classes, w_dim
        self.img_resolution, self.img_channels = resolution, img_channels
        self.z_normalize = z_normalize
        channels = channels_per_resolution(resolution, channel_base, channel_max)
        self.synthesis = SynthesisNetwork(
            w_dim=w_dim, resolution=resolution, img_channels=img_channels, channels=channels,
            output_skips=g_output_skips, const_input=style_modulation, modulated=style_modulation,
            noise=noise, equalized=equalized_lr, resample_filter=resample_filter, conv_clamp=conv_clamp,
            true_convolution=up_conv == "convolution", reduced_precision_stages=reduced_precision_stages,
            reduced_dtype=reduced_dtype)
        if style_modulation:
            self.num_ws = self.synthesis.num_ws
            self.mapping = MappingNetwork(z_dim=z_dim, c_dim=num_classes, w_dim=w_dim, num_ws=self.num_ws,
                                          num_layers=mapping_layers, normalize=z_normalize,
                                          equalized=equalized_lr, w_avg_beta=w_avg_beta)
        else:  # no mapping network: z (+ class embedding) enters through a learned 4x4 basis
            self.num_ws = 0
            self.embed = StyleLinear(num_classes, w_dim, equalized=equalized_lr) if num_classes else None
            self.basis = GenerativeBasis(z_dim + (w_dim if num_classes else 0), channels[4],
                                         equalized=equalized_lr)

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="random"):
        if hasattr(self, "mapping"):
            ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
            return self.synthesis(ws, noise_mode=noise_mode)
        x = normalize_2nd_moment(z) if self.z_normalize else z
        one_hot = class_one_hot(c, self.c_dim, z.shape[0], z.dtype)
        if one_hot is not None:
            y = self.embed(one_hot)
            x = torch.cat([x, normalize_2nd_moment(y) if self.z_normalize else y], dim=1)
        return self.synthesis(None, noise_mode=noise_mode, x=self.basis(x))


# ----------------------------------------------------------------------------- discriminator


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second downsamples) + 1x1 downsampling skip, each * sqrt(0.5)."""

    def __init__(self, in_channels, out_channels, *, equalized=True, resample_filter=(1, 3, 3, 1), conv_clamp=None):
        super().__init__()
        kw = dict(equalized=equalized, resample_filter=resample_filter)
        self.conv0 = StyleConv2d(in_channels, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp, **kw)
        self.conv1 = StyleConv2d(in_channels, out_channels, 3, activation="lrelu", down=True,
                                 conv_clamp=conv_clamp, **kw)
        self.skip = StyleConv2d(in_channels, out_channels, 1, bias=False, down=True, **kw)  # never clamped

    def forward(self, x):
        y = self.skip(x, gain=math.sqrt(0.5))
        return self.conv1(self.conv0(x), gain=math.sqrt(0.5)) + y


class MinibatchStd(nn.Module):
    """Append one channel: the average std of the features over groups of ``group_size`` samples."""

    def __init__(self, group_size):
        super().__init__()
        self.group_size = group_size

    def forward(self, x):
        n, c, h, w = x.shape
        g = max(d for d in range(1, min(self.group_size, n) + 1) if n % d == 0)  # largest divisor of n
        y = x.reshape(g, n // g, c, h, w)  # sample i is in group i % (n // g)
        y = (y - y.mean(0)).square().mean(0)
        y = (y + 1e-8).sqrt().mean([1, 2, 3])  # [n // g]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """4x4 features -> [mbstd] -> 3x3 conv -> FC -> FC out (1 logit, or cmap_dim for projection)."""

    def __init__(self, channels, out_dim, *, mbstd_group=4, equalized=True, conv_clamp=None):
        super().__init__()
        self.mbstd = MinibatchStd(mbstd_group) if mbstd_group > 0 else None
        extra = 1 if self.mbstd is not None else 0
        self.conv = StyleConv2d(channels + extra, channels, 3, activation="lrelu", equalized=equalized,
                                conv_clamp=conv_clamp)
        self.fc = StyleLinear(channels * 16, channels, activation="lrelu", equalized=equalized)
        self.out = StyleLinear(channels, out_dim, equalized=equalized)

    def forward(self, x):
        if self.mbstd is not None:
            x = self.mbstd(x)
        return self.out(self.fc(self.conv(x).flatten(1)))


class StyleGAN2Discriminator(nn.Module):
    """D(x, c) -> logits [N]. Conditional: projection onto a normalised class embedding."""

    def __init__(self, *, resolution, img_channels, num_classes, channel_base=16384, channel_max=512,
                 mbstd_group=4, equalized_lr=True, resample_filter=(1, 3, 3, 1), conv_clamp=None,
                 reduced_precision_stages=0, reduced_dtype="bfloat16"):
        super().__init__()
        self.c_dim, self.img_resolution, self.img_channels = num_classes, resolution, img_channels
        channels = channels_per_resolution(resolution, channel_base, channel_max)
        # dtype of FromRGB + each block, from the top resolution down; the 4x4 epilogue is float32
        self.stage_dtypes = stage_dtypes(len(channels), reduced_precision_stages, REDUCED_DTYPES[reduced_dtype])[::-1]
        self.from_rgb = StyleConv2d(img_channels, channels[resolution], 1, activation="lrelu",
                                    equalized=equalized_lr, conv_clamp=conv_clamp)
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(channels[res], channels[res // 2], equalized=equalized_lr,
                               resample_filter=resample_filter, conv_clamp=conv_clamp)
            for res in sorted(channels, reverse=True) if res > 4)
        self.cmap_dim = channels[4] if num_classes else 0
        self.epilogue = DiscriminatorEpilogue(channels[4], self.cmap_dim or 1, mbstd_group=mbstd_group,
                                              equalized=equalized_lr, conv_clamp=conv_clamp)
        self.embed = (StyleLinear(num_classes, self.cmap_dim, bias=False, equalized=equalized_lr)
                      if num_classes else None)

    def forward(self, img, c=None):
        x = self.from_rgb(img.to(self.stage_dtypes[0]))
        for block, dtype in zip(self.blocks, self.stage_dtypes):
            x = block(x.to(dtype))
        x = self.epilogue(x.float())
        one_hot = class_one_hot(c, self.c_dim, img.shape[0], x.dtype)
        if one_hot is None:
            return x[:, 0]
        cmap = normalize_2nd_moment(self.embed(one_hot))
        return (x * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)
