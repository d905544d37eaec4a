"""Tri-plane feature lookup and EpiGRAF's small decoder MLP (the reference's ``tri_plane_renderer``).

Points are divided by the dataset's ``cube_scale`` (so the cube [-cube_scale, cube_scale]^3 maps to
[-1, 1]^3), projected onto the (x, y), (x, z) and (y, z) planes, read with bilinear ``grid_sample``
(align_corners=True, zero padding outside) and the three features are AVERAGED. The decoder is
FC(32 -> 64, leaky ReLU) -> FC(64 -> RGB + raw density), equalised lr, no view direction, no
positional encoding and no sigmoid on RGB.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganrepro.models.layers import StyleLinear

PLANE_AXES = ((0, 1), (0, 2), (1, 2))


def sample_triplanes(planes: torch.Tensor, points: torch.Tensor, cube_scale: float) -> torch.Tensor:
    """Average tri-plane feature at each point.

    planes: [N, 3 * C, H, W] (plane k = channels k*C:(k+1)*C, on the axes ``PLANE_AXES[k]``);
    points: [N, M, 3] world coordinates. Returns [N, M, C].
    """
    n, channels3, h, w = planes.shape
    if channels3 % 3:
        raise ValueError(f"planes must have 3 * C channels, got {channels3}")
    c = channels3 // 3
    coords = points / cube_scale
    grid = torch.stack([coords[..., list(axes)] for axes in PLANE_AXES], dim=1)  # [N, 3, M, 2]
    grid = grid.reshape(n * 3, 1, -1, 2)
    feats = F.grid_sample(planes.reshape(n * 3, c, h, w), grid, mode="bilinear", padding_mode="zeros",
                          align_corners=True)  # [N * 3, C, 1, M]
    return feats.reshape(n, 3, c, -1).mean(dim=1).transpose(1, 2)


class TriPlaneDecoder(nn.Module):
    """[.., C] averaged tri-plane features -> [.., img_channels + 1] (RGB, raw density)."""

    def __init__(self, feat_dim: int = 32, hidden_dim: int = 64, img_channels: int = 3):
        super().__init__()
        self.fc0 = StyleLinear(feat_dim, hidden_dim, activation="lrelu")
        self.fc1 = StyleLinear(hidden_dim, img_channels + 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fc1(self.fc0(feats))
