"""EpiGRAF's scale/location-aware patch discriminator and the Table 2 variants.

``PatchDiscriminator``: StyleGAN2 ResNet D at patch resolution r. With dataset resolution R it
has log2(R / r) extra non-downsampling blocks in front, and its channel widths follow the
*virtual* resolutions r * 2^k, so depth and widths equal a full-resolution D (reference).
- Hypernetwork (``hyper_mod``): (s, dx, dy) -> Fourier features (10 log-spaced frequencies,
  sin and cos, of 1000 x) + a learned embedding of round(1000 x) per scalar (3 x 276 = 828 dims at
  paper size) -> 2-layer mapping network (lr x 0.01) -> p (512) -> per block an affine
  ``W_l p + b_l`` -> sigma_l = 1 + tanh(.) in (0, 2), multiplying the INPUT channels of each
  block's ``conv1`` (the reference's Conv2dLayer; the skip conv is not modulated).
- Projection head: cmap = mapping([one-hot labels, patch encoding, camera encoding]) with the camera
  encoding under dropout (p = 0.5); logit = <features, cmap> / sqrt(cmap_dim). Camera encoding: the
  signed raw angles (official default), or ``fourier``: Fourier features of 64 x the signed angle (the
  official ``ScalarEncoder1d(2, x_multiplier=64)``, 24 dims; head input 852 at paper size).
- ``conv_clamp`` (official 256 unless fp32 training is forced): FromRGB, conv0, conv1 and the epilogue
  conv outputs clamped to +-conv_clamp x gain (the skip conv is not).
- ``hyper_mod=False, patch_cond=False`` is Table 2's "standard D" (patch parameters ignored).

``ScaleRoutedDiscriminator``: K standard Ds, each patch routed to the D of its scale bucket
(K equal-width buckets of [s_min, 1]); Table 2's "2 / 4 scale-specific Ds" (not in public code).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganrepro.models.layers import StyleConv2d, StyleLinear, class_one_hot, normalize_2nd_moment
from ganrepro.models.stylegan2 import DiscriminatorEpilogue

from .camera import camera_raw_encoding

PAPER_DISCRIMINATOR = dict(channel_base=16384, channel_max=512, mbstd_group=4, hyper_dim=512, const_emb_dim=256,
                           fourier_max=1000.0, camera_cond_drop_p=0.5, patch_resolution=64, conv_clamp=256)
CAMERA_FOURIER_MAX = 64.0  # official: ScalarEncoder1d(coord_dim=2, x_multiplier=64) on the signed raw angles


class ScalarFourierEncoder(nn.Module):
    """Per scalar x in [0, 1]: [sin(f_k * m x), cos(f_k * m x)] for log-spaced f_k, plus a learned
    embedding of round(m x) (``const_emb_dim`` > 0); m = ``x_multiplier``. Output [N, coord_dim * dim]."""

    def __init__(self, coord_dim: int, x_multiplier: float = 1000.0, const_emb_dim: int = 256):
        super().__init__()
        self.coord_dim, self.x_multiplier = coord_dim, x_multiplier
        period = 2.0 ** math.ceil(math.log2(x_multiplier))
        num_freqs = int(math.ceil(math.log2(period)))
        self.register_buffer("freqs", (2.0 ** torch.arange(num_freqs)) * math.pi / period, persistent=False)
        self.const_embed = nn.Embedding(int(math.ceil(x_multiplier)) + 1, const_emb_dim) if const_emb_dim else None
        self.dim = coord_dim * (2 * num_freqs + const_emb_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() * self.x_multiplier  # [N, coord_dim]
        raw = x[..., None] * self.freqs
        parts = [raw.sin(), raw.cos()]
        if self.const_embed is not None:
            parts.append(self.const_embed(x.round().long().clamp(0, self.const_embed.num_embeddings - 1)))
        return torch.cat(parts, dim=-1).flatten(1)


class ConditionMapping(nn.Module):
    """Condition vector -> FC embed -> 2nd-moment normalisation -> ``num_layers`` FC lrelu (lr x 0.01)."""

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 2, lr_multiplier: float = 0.01):
        super().__init__()
        self.embed = StyleLinear(in_dim, out_dim)
        self.layers = nn.Sequential(*[StyleLinear(out_dim, out_dim, activation="lrelu", lr_mul=lr_multiplier)
                                      for _ in range(num_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(normalize_2nd_moment(self.embed(x)))


class PatchDBlock(nn.Module):
    """conv0 3x3 -> [sigma *] conv1 3x3 [2x down] + 1x1 skip [2x down], each branch * sqrt(0.5)."""

    def __init__(self, in_channels: int, out_channels: int, *, down: bool, hyper_dim: int = 0, conv_clamp=None):
        super().__init__()
        self.conv0 = StyleConv2d(in_channels, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = StyleConv2d(in_channels, out_channels, 3, activation="lrelu", down=down, conv_clamp=conv_clamp)
        self.skip = StyleConv2d(in_channels, out_channels, 1, bias=False, down=down)
        self.affine = StyleLinear(hyper_dim, in_channels, bias_init=0.0) if hyper_dim else None

    def modulation(self, p: torch.Tensor) -> torch.Tensor:
        """sigma [N, in_channels] in (0, 2)."""
        return 1.0 + torch.tanh(self.affine(p))

    def forward(self, x: torch.Tensor, p: torch.Tensor | None = None) -> torch.Tensor:
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv0(x)
        if self.affine is not None:
            x = x * self.modulation(p)[:, :, None, None].to(x.dtype)
        return self.conv1(x, gain=math.sqrt(0.5)) + y


class PatchDiscriminator(nn.Module):
    """D(patches, c, patch, camera) -> logits [N]; ``patch`` [N, 3] = (s, dx, dy), ``camera`` [N, 3]."""

    def __init__(self, *, resolution: int, img_channels: int = 3, num_classes: int = 0, patch_resolution: int = 64,
                 channel_base: int = 16384, channel_max: int = 512, mbstd_group: int = 4, hyper_mod: bool = True,
                 patch_cond: bool = True, camera_cond: bool = False, camera_cond_drop_p: float = 0.5,
                 camera_encoding: str = "raw", hyper_dim: int = 512, const_emb_dim: int = 256,
                 fourier_max: float = 1000.0, mapping_layers: int = 2, conv_clamp: float | None = 256):
        super().__init__()
        if resolution % patch_resolution or not math.log2(resolution // patch_resolution).is_integer():
            raise ValueError(f"resolution {resolution} must be patch_resolution {patch_resolution} times a power of 2")
        if camera_encoding not in ("raw", "fourier"):
            raise ValueError(f"camera_encoding must be 'raw' or 'fourier', got {camera_encoding!r}")
        self.c_dim, self.img_resolution, self.img_channels = num_classes, resolution, img_channels
        self.patch_resolution = patch_resolution
        self.num_extra_blocks = int(math.log2(resolution // patch_resolution))
        virtual = [2 ** i for i in range(int(math.log2(resolution)), 2, -1)]  # R, R/2, ..., 8
        channels = {res: min(channel_base // res, channel_max) for res in virtual + [4]}
        self.patch_enc = (ScalarFourierEncoder(3, fourier_max, const_emb_dim) if (patch_cond or hyper_mod) else None)
        self.hyper = ConditionMapping(self.patch_enc.dim, hyper_dim, mapping_layers) if hyper_mod else None
        self.from_rgb = StyleConv2d(img_channels, channels[resolution], 1, activation="lrelu", conv_clamp=conv_clamp)
        self.blocks = nn.ModuleList(
            PatchDBlock(channels[res], channels[res // 2], down=i >= self.num_extra_blocks,
                        hyper_dim=hyper_dim if hyper_mod else 0, conv_clamp=conv_clamp)
            for i, res in enumerate(virtual))
        self.patch_cond, self.camera_cond = patch_cond, camera_cond
        self.camera_cond_drop_p, self.camera_encoding = camera_cond_drop_p, camera_encoding
        self.camera_enc = (ScalarFourierEncoder(2, CAMERA_FOURIER_MAX, 0)
                           if camera_cond and camera_encoding == "fourier" else None)
        cond_dim = num_classes + (self.patch_enc.dim if patch_cond else 0) + (
            (self.camera_enc.dim if self.camera_enc is not None else 2) if camera_cond else 0)
        self.cmap_dim = channels[4] if cond_dim else 0
        self.head = ConditionMapping(cond_dim, self.cmap_dim, mapping_layers) if cond_dim else None
        self.epilogue = DiscriminatorEpilogue(channels[4], self.cmap_dim or 1, mbstd_group=mbstd_group,
                                              conv_clamp=conv_clamp)

    def patch_code(self, patch: torch.Tensor) -> torch.Tensor:
        """Hypernetwork output p [N, hyper_dim] for patch parameters [N, 3]."""
        return self.hyper(self.patch_enc(patch))

    @torch.no_grad()
    def modulations(self, patch: torch.Tensor) -> list[torch.Tensor]:
        """sigma_l [N, C_l] of every modulated layer (Fig 7)."""
        p = self.patch_code(patch)
        return [block.modulation(p) for block in self.blocks]

    def _condition(self, c, patch, camera, n: int, dtype) -> torch.Tensor | None:
        parts = []
        one_hot = class_one_hot(c, self.c_dim, n, dtype)
        if one_hot is not None:
            parts.append(one_hot)
        if self.patch_cond:
            parts.append(self.patch_enc(patch))
        if self.camera_cond:
            if camera is None:
                raise ValueError("this discriminator is camera-conditioned: pass camera [N, 3]")
            enc = camera_raw_encoding(camera)  # in (-1, 1); official Fourier features read it signed, unshifted
            enc = enc if self.camera_enc is None else self.camera_enc(enc)
            parts.append(F.dropout(enc, p=self.camera_cond_drop_p, training=self.training))
        return torch.cat(parts, dim=1) if parts else None

    def forward(self, img, c=None, patch=None, camera=None):
        needs_patch = self.patch_enc is not None
        if needs_patch and patch is None:
            raise ValueError("this discriminator is patch-aware: pass patch [N, 3] = (s, dx, dy)")
        p = self.patch_code(patch) if self.hyper is not None else None
        x = self.from_rgb(img)
        for block in self.blocks:
            x = block(x, p)
        x = self.epilogue(x)
        cond = self._condition(c, patch, camera, img.shape[0], x.dtype)
        if cond is None:
            return x[:, 0]
        cmap = self.head(cond)
        return (x * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)


def scale_buckets(scales: torch.Tensor, num_buckets: int, min_scale: float) -> torch.Tensor:
    """Bucket index in [0, K) of each scale: K equal-width buckets of [min_scale, 1]."""
    if num_buckets == 1 or min_scale >= 1.0:
        return torch.zeros_like(scales, dtype=torch.long)
    frac = (scales - min_scale) / (1.0 - min_scale)
    return (frac * num_buckets).floor().long().clamp(0, num_buckets - 1)


class ScaleRoutedDiscriminator(nn.Module):
    """K scale-specific standard discriminators; patch i goes to D_k with k = its scale bucket."""

    def __init__(self, *, num_discriminators: int, resolution: int, patch_resolution: int = 64,
                 min_scale: float | None = None, **d_kwargs):
        super().__init__()
        if num_discriminators < 1:
            raise ValueError(f"num_discriminators must be >= 1, got {num_discriminators}")
        d_kwargs = {**d_kwargs, "hyper_mod": False, "patch_cond": False}
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(resolution=resolution, patch_resolution=patch_resolution, **d_kwargs)
            for _ in range(num_discriminators))
        self.min_scale = patch_resolution / resolution if min_scale is None else float(min_scale)
        first = self.discriminators[0]
        self.c_dim, self.img_resolution, self.img_channels = first.c_dim, resolution, first.img_channels
        self.patch_resolution = patch_resolution

    def route(self, patch: torch.Tensor) -> torch.Tensor:
        return scale_buckets(patch[:, 0], len(self.discriminators), self.min_scale)

    def forward(self, img, c=None, patch=None, camera=None):
        if patch is None:
            raise ValueError("scale-routed discriminators need patch [N, 3] = (s, dx, dy)")
        bucket = self.route(patch)
        order, parts = [], []
        for k, disc in enumerate(self.discriminators):
            idx = torch.nonzero(bucket == k).flatten()
            if idx.numel() == 0:
                continue
            pick = (lambda t: None if t is None else t[idx])
            parts.append(disc(img[idx], pick(c), pick(patch), pick(camera)))
            order.append(idx)
        logits = torch.cat(parts)
        return logits.new_zeros(img.shape[0]).index_put((torch.cat(order),), logits)


def build_discriminator(*, variant: str = "hyper", num_discriminators: int = 1, **kwargs) -> nn.Module:
    """Table 2's D variants: "hyper" (EpiGRAF), "standard", "multi" (K scale-specific Ds)."""
    if variant == "hyper":
        return PatchDiscriminator(**{**kwargs, "hyper_mod": True, "patch_cond": True})
    if variant == "standard":
        return PatchDiscriminator(**{**kwargs, "hyper_mod": False, "patch_cond": False})
    if variant == "multi":
        return ScaleRoutedDiscriminator(num_discriminators=num_discriminators, **kwargs)
    raise ValueError(f"unknown discriminator variant {variant!r}; use 'hyper', 'standard' or 'multi'")


__all__ = ["PAPER_DISCRIMINATOR", "PatchDiscriminator", "ScaleRoutedDiscriminator", "ScalarFourierEncoder",
           "build_discriminator", "camera_raw_encoding", "scale_buckets"]
