"""Generator/discriminator networks: StyleGAN2 (R3GAN configs A, B) and R3GAN (configs D, E).

``build_networks(arch, resolution=..., img_channels=..., num_classes=...) -> (G, D)``:
``G(z, c=None) -> images [N, C, H, W]`` (attributes ``z_dim``, ``c_dim``),
``D(x, c=None) -> logits [N]``; ``c`` is an int64 class index tensor or None.
StyleGAN2 generators with a mapping network also have ``G.mapping(z, c, truncation_psi)``,
``G.num_ws`` and ``G.synthesis(ws, noise_mode)``; test for them with ``hasattr(G, "mapping")``.
"""

from torch import nn

from .arch import DEFAULTS, FAMILIES, knob_names, resolve_arch, split_knobs
from .r3gan import R3GANDiscriminator, R3GANGenerator
from .stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator

_CLASSES = {
    "stylegan2": (StyleGAN2Generator, StyleGAN2Discriminator),
    "r3gan": (R3GANGenerator, R3GANDiscriminator),
}


def build_networks(arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    """(G, D) for the ``model`` config ``arch``; raises ConfigError on unknown/invalid knobs."""
    family, knobs = resolve_arch(arch, resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    g_kwargs, d_kwargs = split_knobs(family, knobs)
    generator_cls, discriminator_cls = _CLASSES[family]
    size = dict(resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    return generator_cls(**size, **g_kwargs), discriminator_cls(**size, **d_kwargs)


def count_params(module: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


__all__ = ["DEFAULTS", "FAMILIES", "build_networks", "count_params", "knob_names"]
