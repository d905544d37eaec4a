"""Generator/discriminator networks, by family (``models/registry.py``).

``build_networks(arch, resolution=..., img_channels=..., num_classes=...) -> (G, D)``:
``G(z, c=None) -> images [N, C, H, W]`` (attributes ``z_dim``, ``c_dim``),
``D(x, c=None) -> logits [N]``; ``c`` is an int64 class index tensor or None.
StyleGAN2 generators with a mapping network also have ``G.mapping(z, c, truncation_psi)``,
``G.num_ws`` and ``G.synthesis(ws, noise_mode)``, and say so with ``G.style_mixing_capable``.
Built-in families: ``stylegan2`` (R3GAN configs A, B) and ``r3gan`` (configs D, E), in ``builtin.py``;
a paper's own families register from its modules.

Importing this package does not import torch (the DAG resolves runs through ``registry``); the
network modules are imported by a family's ``build``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .arch import DEFAULTS
from .registry import FAMILIES, get_family, register_family

if TYPE_CHECKING:
    from torch import nn


def build_networks(arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    """(G, D) for the ``model`` config ``arch``; raises ConfigError on unknown/invalid knobs."""
    family = get_family(arch.get("family") if isinstance(arch, dict) else None)
    return family.build(arch, resolution=resolution, img_channels=img_channels, num_classes=num_classes)


def count_params(module: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


__all__ = ["DEFAULTS", "FAMILIES", "build_networks", "count_params", "get_family", "register_family"]
