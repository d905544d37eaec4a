"""CIPS's two coordinate embeddings, concatenated at the generator input.

* ``FourierFeatures`` (CIPS's LFF): sin(1x1 conv 2 -> C), the conv weight uniform in
  +-sqrt(9 / 2) (SIREN's first-layer init with omega 3, as CIPS's ConLinear ``is_first``), the bias
  PyTorch's default conv init. A function of the coordinates, so it is defined everywhere.
* ``LearnedEmbedding``: a [C, S, S] parameter over the training grid (S = training resolution,
  N(0, 1) init as CIPS's ConstantInput), always read by bilinear ``grid_sample`` at the given
  coordinates with border padding. We use ``align_corners=True``: the texel (i, j) then sits exactly
  at the dense grid's coordinate (linspace(-1, 1, S)), so a read at the training grid equals direct
  indexing and a sparse grid or a crop reads exactly the entries it lies on. Official CIPS indexes
  directly at full resolution in training and otherwise calls grid_sample with align_corners=False
  (a half-texel shift); ``align_corners=False`` reproduces that read (CHOICE, see the report).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class FourierFeatures(nn.Module):
    """coords [B, 2, h, w] -> sin(conv1x1(coords)) [B, channels, h, w]."""

    def __init__(self, channels: int, in_features: int = 2):
        super().__init__()
        self.proj = nn.Conv2d(in_features, channels, 1)
        bound = math.sqrt(9.0 / in_features)
        nn.init.uniform_(self.proj.weight, -bound, bound)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.proj(coords))


class LearnedEmbedding(nn.Module):
    """A learned [channels, size, size] table read by bilinear interpolation at the coordinates."""

    def __init__(self, channels: int, size: int, *, align_corners: bool = True):
        super().__init__()
        self.size, self.align_corners = size, align_corners
        self.table = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        batch = coords.shape[0]
        return F.grid_sample(self.table.expand(batch, -1, -1, -1), coords.permute(0, 2, 3, 1),
                             mode="bilinear", padding_mode="border", align_corners=self.align_corners)
