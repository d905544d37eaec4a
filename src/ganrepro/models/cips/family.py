"""The ``cips`` model family: CIPSskip G + StyleGAN2 ResNet D built at the size D sees.

``model`` keys (defaults = the multi-stage paper's): z_dim 128, w_dim 512, hidden 512, width 512,
channel_multiplier 2, mapping_layers 8, align_corners true, d_coord_channels false (the official README's
``--img2dis``: D sees RGB only), d_channel_base
32768, d_channel_max 512, mbstd_group 4, and ``d_input``: ``image`` (D at H, image-based and
accumulation schemes) or ``patch`` (D at H / patch_divisor, patch-based and multi-stage schemes).
Torch-free (resolving a run imports it); ``build`` imports the networks.
"""

from __future__ import annotations

from ganrepro.errors import ConfigError

from ..registry import capped, register_family, scaled_width
from .knobs import (
    PAPER_CHANNEL_MULTIPLIER,
    PAPER_D_CHANNEL_BASE,
    PAPER_D_CHANNEL_MAX,
    PAPER_HIDDEN,
    PAPER_MAPPING_LAYERS,
    PAPER_W_DIM,
    PAPER_WIDTH,
    PAPER_Z_DIM,
)

DEFAULTS = {"family": "cips", "z_dim": PAPER_Z_DIM, "w_dim": PAPER_W_DIM, "hidden": PAPER_HIDDEN,
            "width": PAPER_WIDTH, "channel_multiplier": PAPER_CHANNEL_MULTIPLIER,
            "mapping_layers": PAPER_MAPPING_LAYERS, "align_corners": True, "d_coord_channels": False,
            "d_channel_base": PAPER_D_CHANNEL_BASE, "d_channel_max": PAPER_D_CHANNEL_MAX, "mbstd_group": 4,
            "d_input": "image", "patch_divisor": 4}


def build(arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    a = {**DEFAULTS, **arch}
    unknown = sorted(set(a) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"model (family cips) has unknown keys {unknown}; allowed: {sorted(DEFAULTS)}")
    if a["d_input"] not in ("image", "patch"):
        raise ConfigError(f"model.d_input must be 'image' or 'patch', got {a['d_input']!r}")
    from .discriminator import CIPSDiscriminator  # torch: only when networks are built
    from .generator import CIPSGenerator

    G = CIPSGenerator(resolution=resolution, img_channels=img_channels, num_classes=num_classes, z_dim=a["z_dim"],
                      w_dim=a["w_dim"], hidden=a["hidden"], width=a["width"],
                      channel_multiplier=a["channel_multiplier"], mapping_layers=a["mapping_layers"],
                      align_corners=a["align_corners"])
    d_res = resolution if a["d_input"] == "image" else resolution // a["patch_divisor"]
    D = CIPSDiscriminator(resolution=d_res, img_channels=img_channels, num_classes=num_classes,
                          coord_channels=a["d_coord_channels"], channel_base=a["d_channel_base"],
                          channel_max=a["d_channel_max"], mbstd_group=a["mbstd_group"])
    return G, D


def scale_knobs(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    """Small scales: every width divided by the preset's divisor (>= its min width); z capped."""
    del resolution, paper_resolution
    m = {**DEFAULTS, **model}
    for key in ("w_dim", "hidden", "width", "d_channel_max"):
        m[key] = scaled_width(m[key], scale)
    m["d_channel_base"] = max(scale["min_width"] * 4, int(round(m["d_channel_base"] / scale["width_divisor"])))
    m["z_dim"] = capped(m["z_dim"], scale.get("z_dim_max"))
    return m


register_family("cips", build=build, scale_knobs=scale_knobs)  # official names: ganrepro.checkpoints.official_cips

