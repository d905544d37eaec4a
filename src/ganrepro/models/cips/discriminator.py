"""The CIPS discriminator: StyleGAN2's ResNet D built at the size of what it sees (image or patch).

CIPS uses rosinality's StyleGAN2 Discriminator with channel multiplier 2 (widths 512 up to 64 px,
then 256 at 128, 128 at 256): the same as ``StyleGAN2Discriminator`` with channel_base 32768 and
channel_max 512, minibatch stddev group 4. By default D sees RGB only, as the official README's training
command (``--img2dis``); ``coord_channels=True`` (CIPS's argparse default) also gives it the 2 coordinate
channels of the pixels it judges, so a patch or a sparse grid carries where it lies and at which spacing.
"""

from __future__ import annotations

import torch
from torch import nn

from ..stylegan2 import StyleGAN2Discriminator
from .knobs import PAPER_D_CHANNEL_BASE, PAPER_D_CHANNEL_MAX  # noqa: F401  (re-exported)


class CIPSDiscriminator(nn.Module):
    """D(img [B, C, s, s], coords [B, 2, s, s] | None) -> logits [B]; built at ``resolution`` = s."""

    def __init__(self, *, resolution: int, img_channels: int = 3, num_classes: int = 0,
                 coord_channels: bool = False, channel_base: int = PAPER_D_CHANNEL_BASE,
                 channel_max: int = PAPER_D_CHANNEL_MAX, mbstd_group: int = 4):
        super().__init__()
        self.coord_channels = coord_channels
        self.img_resolution, self.img_channels, self.c_dim = resolution, img_channels, num_classes
        self.net = StyleGAN2Discriminator(resolution=resolution, img_channels=img_channels + 2 * coord_channels,
                                          num_classes=num_classes, channel_base=channel_base,
                                          channel_max=channel_max, mbstd_group=mbstd_group)

    def forward(self, img: torch.Tensor, c=None, *, coords: torch.Tensor | None = None) -> torch.Tensor:
        if img.shape[-1] != self.img_resolution or img.shape[-2] != self.img_resolution:
            raise ValueError(f"D was built for {self.img_resolution}px inputs, got {list(img.shape[-2:])}")
        if self.coord_channels:
            if coords is None:
                raise ValueError("this D takes the pixels' coordinates as 2 extra channels: pass coords")
            img = torch.cat([img, coords.to(img.dtype).expand(img.shape[0], -1, -1, -1)], dim=1)
        return self.net(img, c)
