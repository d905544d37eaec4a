"""Parameter counts of paper-sized networks, without allocating them (``meta`` device)."""

import torch

from . import build_networks, count_params


def count_for(arch: dict, resolution: int, img_channels: int, num_classes: int) -> tuple[int, int]:
    """(G params, D params) of ``build_networks(arch, ...)``; instantiated on the meta device."""
    with torch.device("meta"):
        G, D = build_networks(arch, resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    return count_params(G), count_params(D)
