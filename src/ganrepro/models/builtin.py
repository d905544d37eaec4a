"""The two built-in families: StyleGAN2 (R3GAN configs A, B) and R3GAN's ResNets (configs D, E).

Torch-free: the network modules are imported when ``build_*`` is called (networks are built).
"""

from __future__ import annotations

import math

from ..errors import ConfigError
from .arch import resolve_arch, split_knobs
from .registry import capped, register_family, scaled_width, stages_for


def _build(generator_cls, discriminator_cls, arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    family, knobs = resolve_arch(arch, resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    g_kwargs, d_kwargs = split_knobs(family, knobs)
    size = dict(resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    return generator_cls(**size, **g_kwargs), discriminator_cls(**size, **d_kwargs)


def build_stylegan2(arch: dict, **size):
    from .stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator

    return _build(StyleGAN2Generator, StyleGAN2Discriminator, arch, **size)


def build_r3gan(arch: dict, **size):
    from .r3gan import R3GANDiscriminator, R3GANGenerator

    return _build(R3GANGenerator, R3GANDiscriminator, arch, **size)


def scale_r3gan(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    m = dict(model)
    if len(m["widths"]) != stages_for(paper_resolution):
        raise ConfigError(
            f"model.widths has {len(m['widths'])} entries but resolution {paper_resolution} needs "
            f"{stages_for(paper_resolution)} (one per stage from 4x4 up)."
        )
    m["widths"] = [scaled_width(w, scale) for w in m["widths"][:stages_for(resolution)]]
    if m.get("c_embed_dim_d") is not None:
        m["c_embed_dim_d"] = scaled_width(m["c_embed_dim_d"], scale)
    m["z_dim"] = capped(m["z_dim"], scale.get("z_dim_max"))
    m["c_embed_dim_g"] = capped(m["c_embed_dim_g"], scale.get("z_dim_max"))
    if m.get("group_size"):
        expanded = [max(1, int(w * m["expansion"])) for w in m["widths"]]
        m["group_size"] = min(m["group_size"], math.gcd(*expanded))
    return m


def scale_stylegan2(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    del resolution, paper_resolution
    m = dict(model)
    m["channel_base"] = max(scale["min_width"] * 4, int(round(m["channel_base"] / scale["width_divisor"])))
    m["channel_max"] = scaled_width(m["channel_max"], scale)
    m["z_dim"] = capped(m["z_dim"], scale.get("z_dim_max"))
    if "w_dim" in m:
        m["w_dim"] = capped(m["w_dim"], scale.get("z_dim_max"))
    return m


register_family("stylegan2", build=build_stylegan2, scale_knobs=scale_stylegan2)
register_family("r3gan", build=build_r3gan, scale_knobs=scale_r3gan)
