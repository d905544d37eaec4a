"""CIPSskip (Anokhin et al. 2021) in pure PyTorch: every pixel is synthesised independently.

z -> 8-layer mapping network -> w. Per coordinate: [FourierFeatures | LearnedEmbedding] (2 * hidden
channels) -> modulated 1x1 conv -> groups of two modulated 1x1 convs (StyleGAN2 modulation +
demodulation, per-pixel noise with a zero-initialised strength, bias + leaky ReLU * sqrt(2)), each
group followed by a ToRGB (modulated, not demodulated, 1x1 conv to RGB); the ToRGB outputs of all
groups are summed (skip). ``log2(resolution) - 1`` groups; widths ``width`` for groups 0-3, then
``min(width, 256 * m / 2^(g - 4))`` (CIPS: 512, 512, 512, 512, 256m, 128m, 64m with m = 2).

``G(z, coords=...)`` evaluates only the given coordinates ([B, 2, h, w], or [2, h, w] / [1, 2, h, w]
shared by the batch): a sparse full-image grid, a dense crop, or coordinates beyond [-1, 1]. With
``coords`` omitted it renders the dense full grid of ``resolution`` (the spine's ``G(z, c)`` contract).
Because no layer mixes pixels, G at a crop of a grid equals the crop of G at the grid (noise off).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import LRELU_SLOPE, STYLEGAN_LRELU_GAIN, StyleLinear
from ..stylegan2 import MappingNetwork
from .coords import grid
from .embedding import FourierFeatures, LearnedEmbedding

from .knobs import (  # noqa: F401  (re-exported: the paper's sizes, defined torch-free in knobs.py)
    PAPER_CHANNEL_MULTIPLIER,
    PAPER_HIDDEN,
    PAPER_MAPPING_LAYERS,
    PAPER_RESOLUTION,
    PAPER_W_DIM,
    PAPER_WIDTH,
    PAPER_Z_DIM,
)


def group_widths(resolution: int, width: int, channel_multiplier: int) -> list[int]:
    """Output width of each of the log2(resolution) - 1 groups (CIPSskip's channel table)."""
    groups = int(math.log2(resolution)) - 1
    if 2 ** (groups + 1) != resolution or groups < 1:
        raise ValueError(f"CIPS resolution must be a power of two >= 4, got {resolution}")
    return [width if g < 4 else min(width, (256 * channel_multiplier) >> (g - 4)) for g in range(groups)]


class ModulatedConv1x1(nn.Module):
    """StyleGAN2 modulated 1x1 conv: weight * affine(w) per input channel, optional demodulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, *, demodulate: bool = True):
        super().__init__()
        self.demodulate = demodulate
        self.affine = StyleLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # [B, in]
        weight = self.weight * self.weight_gain
        x = torch.einsum("oi,bihw->bohw", weight, x * styles[:, :, None, None])
        if self.demodulate:
            demod = (styles.square() @ weight.square().t() + 1e-8).rsqrt()  # [B, out]
            x = x * demod[:, :, None, None]
        return x


class StyledLayer(nn.Module):
    """Modulated 1x1 conv -> + noise * strength (per pixel) -> + bias -> leaky ReLU * sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv1x1(in_channels, out_channels, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        x = self.conv(x, w)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) * self.noise_strength
        elif noise_mode != "none":
            raise ValueError(f"noise_mode must be 'random' or 'none', got {noise_mode!r}")
        return F.leaky_relu(x + self.bias[None, :, None, None], LRELU_SLOPE) * STYLEGAN_LRELU_GAIN


class ToRGB(nn.Module):
    """Modulated (not demodulated) 1x1 conv to image channels + bias; no activation."""

    def __init__(self, in_channels: int, img_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv1x1(in_channels, img_channels, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class CIPSGenerator(nn.Module):
    """CIPSskip: G(z, coords=[B, 2, h, w]) -> images [B, img_channels, h, w] at exactly those coordinates."""

    def __init__(self, *, resolution: int = PAPER_RESOLUTION, img_channels: int = 3, num_classes: int = 0,
                 z_dim: int = PAPER_Z_DIM, w_dim: int = PAPER_W_DIM, hidden: int = PAPER_HIDDEN,
                 width: int = PAPER_WIDTH, channel_multiplier: int = PAPER_CHANNEL_MULTIPLIER,
                 mapping_layers: int = PAPER_MAPPING_LAYERS, align_corners: bool = True):
        super().__init__()
        if num_classes:
            raise ValueError("CIPS is unconditional here: num_classes must be 0")
        self.z_dim, self.c_dim, self.w_dim = z_dim, 0, w_dim
        self.img_resolution, self.img_channels = resolution, img_channels
        widths = group_widths(resolution, width, channel_multiplier)
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=0, w_dim=w_dim, num_ws=1, num_layers=mapping_layers)
        self.fourier = FourierFeatures(hidden)
        self.embedding = LearnedEmbedding(hidden, resolution, align_corners=align_corners)
        self.input = StyledLayer(2 * hidden, widths[0], w_dim)
        layers, to_rgbs, channels = [], [], widths[0]
        for out in widths:
            layers += [StyledLayer(channels, out, w_dim), StyledLayer(out, out, w_dim)]
            to_rgbs.append(ToRGB(out, img_channels, w_dim))
            channels = out
        self.layers, self.to_rgbs = nn.ModuleList(layers), nn.ModuleList(to_rgbs)

    def dense_grid(self, device=None) -> torch.Tensor:
        r = self.img_resolution
        return grid(r, r, r, device=device)

    def synthesis(self, w: torch.Tensor, coords: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        """w [B, w_dim], coords [B | 1, 2, h, w] or [2, h, w] -> images [B, C, h, w]."""
        batch = w.shape[0]
        if coords.dim() == 3:
            coords = coords.unsqueeze(0)
        if coords.shape[1] != 2 or coords.shape[0] not in (1, batch):
            raise ValueError(f"coords must be [{batch} or 1, 2, h, w], got {list(coords.shape)}")
        coords = coords.to(w.dtype).expand(batch, -1, -1, -1)
        x = torch.cat([self.fourier(coords), self.embedding(coords)], dim=1)
        x = self.input(x, w, noise_mode)
        rgb = 0
        for g, to_rgb in enumerate(self.to_rgbs):
            x = self.layers[2 * g](x, w, noise_mode)
            x = self.layers[2 * g + 1](x, w, noise_mode)
            rgb = rgb + to_rgb(x, w)
        return rgb

    def forward(self, z: torch.Tensor, c=None, *, coords: torch.Tensor | None = None, noise_mode: str = "random",
                truncation_psi: float = 1.0) -> torch.Tensor:
        del c  # unconditional
        w = self.mapping(z, None, truncation_psi=truncation_psi)[:, 0]
        if coords is None:
            coords = self.dense_grid(z.device)
        return self.synthesis(w, coords, noise_mode)
