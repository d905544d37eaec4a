"""The ``epigraf`` model family: knobs of ``model:`` params -> (EpiGRAFGenerator, patch D).

Knobs (paper values in ``PAPER_KNOBS``): generator ``z_dim, w_dim, mapping_layers, plane_resolution,
feat_dim, g_channel_base, g_channel_max, mlp_hidden, n_coarse, n_fine, camera`` (a preset name of
``CAMERA_PRESETS``); discriminator ``d_variant`` (hyper | standard | multi), ``num_discriminators``,
``d_channel_base, d_channel_max, mbstd_group, hyper_dim, const_emb_dim, camera_cond,
camera_cond_drop_p, camera_encoding``; shared ``patch_resolution``; ``g_camera_cond`` conditions G's mapping
on the view (the paper's FFHQ setting; off as in the official configs); ``background`` (none | sphere:
NeRF++'s inverse-sphere background field, off as in the official configs) with ``bg_width, bg_blocks,
bg_steps, bg_start``; ``conv_clamp`` (official 256: G's synthesis and D's conv outputs clamped to
+-256 x gain, as the official code unless fp32 training is forced; null turns it off).
Torch-free (resolving a run imports it); ``build`` imports the networks.
"""

from __future__ import annotations

from ganrepro.errors import ConfigError
from ganrepro.models.registry import capped, register_family, scaled_width

from .knobs import PAPER_BACKGROUND

PAPER_KNOBS = dict(z_dim=512, w_dim=512, mapping_layers=2, plane_resolution=512, feat_dim=32, g_channel_base=32768,
                   g_channel_max=512, mlp_hidden=64, n_coarse=48, n_fine=48, camera="frontal",
                   d_variant="hyper", num_discriminators=1, d_channel_base=16384, d_channel_max=512, mbstd_group=4,
                   hyper_dim=512, const_emb_dim=256, camera_cond=False, camera_cond_drop_p=0.5,
                   camera_encoding="raw", patch_resolution=64, g_camera_cond=False,
                   background="none", conv_clamp=256, **PAPER_BACKGROUND)
_G_KNOBS = {"z_dim": "z_dim", "w_dim": "w_dim", "mapping_layers": "mapping_layers",
            "plane_resolution": "plane_resolution", "feat_dim": "feat_dim", "g_channel_base": "channel_base",
            "g_channel_max": "channel_max", "mlp_hidden": "mlp_hidden", "n_coarse": "n_coarse", "n_fine": "n_fine",
            "camera": "camera", "patch_resolution": "patch_resolution", "g_camera_cond": "camera_cond",
            "background": "background", "bg_width": "bg_width", "bg_blocks": "bg_blocks", "bg_steps": "bg_steps",
            "bg_start": "bg_start", "conv_clamp": "conv_clamp"}
_D_KNOBS = {"d_variant": "variant", "num_discriminators": "num_discriminators", "d_channel_base": "channel_base",
            "d_channel_max": "channel_max", "mbstd_group": "mbstd_group", "hyper_dim": "hyper_dim",
            "const_emb_dim": "const_emb_dim", "camera_cond": "camera_cond", "camera_cond_drop_p": "camera_cond_drop_p",
            "camera_encoding": "camera_encoding", "patch_resolution": "patch_resolution", "conv_clamp": "conv_clamp"}


def build(arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    knobs = {k: v for k, v in arch.items() if k != "family"}
    unknown = sorted(set(knobs) - set(PAPER_KNOBS))
    if unknown:
        raise ConfigError(f"model (family epigraf): unknown knobs {unknown}; allowed: {sorted(PAPER_KNOBS)}")
    knobs = {**PAPER_KNOBS, **knobs}
    size = dict(resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    from .generator import EpiGRAFGenerator  # torch: only when networks are built

    try:
        G = EpiGRAFGenerator(**size, **{g: knobs[k] for k, g in _G_KNOBS.items()})
    except ValueError as exc:
        raise ConfigError(f"model (family epigraf): {exc}") from None
    return G, _patch_discriminator(knobs, size, "epigraf")


def _patch_discriminator(knobs: dict, size: dict, family: str):
    """The patch D both families share (hyper / standard / K scale-specific), from the model knobs."""
    from .discriminator import build_discriminator  # torch: only when networks are built

    d_kwargs = {d: knobs[k] for k, d in _D_KNOBS.items()}
    if d_kwargs["variant"] != "multi":
        d_kwargs.pop("num_discriminators")
    try:
        return build_discriminator(**size, **d_kwargs)
    except ValueError as exc:
        raise ConfigError(f"model (family {family}): {exc}") from None


def scale_knobs(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    """Same mechanisms, smaller: widths / width_divisor, latents capped, planes, patch and ray samples
    shrunk with the image resolution (patch keeps the paper's r / R, at least 4 px; >= 4 + 4 samples)."""
    m = {**PAPER_KNOBS, **model}
    ratio = resolution / paper_resolution
    for key in ("g_channel_base", "d_channel_base"):
        m[key] = max(scale["min_width"] * 4, int(round(m[key] / scale["width_divisor"])))
    for key in ("g_channel_max", "d_channel_max", "hyper_dim", "mlp_hidden", "bg_width"):
        m[key] = scaled_width(m[key], scale)
    m["const_emb_dim"] = scaled_width(m["const_emb_dim"], scale) if m["const_emb_dim"] else 0
    for key in ("z_dim", "w_dim"):
        m[key] = capped(m[key], scale.get("z_dim_max"))
    m["plane_resolution"] = max(8, int(m["plane_resolution"] * ratio))
    m["feat_dim"] = max(4, scaled_width(m["feat_dim"] * 4, scale) // 4)
    m["patch_resolution"] = max(4, int(m["patch_resolution"] * ratio))
    for key in ("n_coarse", "n_fine", "bg_steps"):  # twice the resolution's share, never above the paper's
        m[key] = max(4, min(m[key], int(round(m[key] * ratio * 2))))
    return m


register_family("epigraf", build=build, scale_knobs=scale_knobs, checkpoint_rules="ganrepro.papers.epigraf.models.official")


# ----------------------------------------------------------------------------- 2D patch-wise (Table 3)
PAPER_KNOBS_2D = dict(g={"family": "stylegan2"}, d_variant="hyper", num_discriminators=1, d_channel_base=16384,
                      d_channel_max=512, mbstd_group=4, hyper_dim=512, const_emb_dim=256, camera_cond=False,
                      camera_cond_drop_p=0.5, camera_encoding="raw", patch_resolution=64, conv_clamp=256)


def build_2d(arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    """``epigraf2d``: a 2D StyleGAN2 G (knobs under ``g:``, family stylegan2) and EpiGRAF's patch D (Table 3)."""
    from ganrepro.models.registry import get_family

    knobs = {**PAPER_KNOBS_2D, **{k: v for k, v in arch.items() if k != "family"}}
    unknown = sorted(set(knobs) - set(PAPER_KNOBS_2D))
    if unknown:
        raise ConfigError(f"model (family epigraf2d): unknown knobs {unknown}; allowed: {sorted(PAPER_KNOBS_2D)}")
    size = dict(resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    G, _ = get_family("stylegan2").build({**knobs["g"], "family": "stylegan2"}, **size)
    return G, _patch_discriminator(knobs, size, "epigraf2d")


def scale_knobs_2d(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    """G shrunk as the stylegan2 family shrinks it; D and patch as ``scale_knobs``."""
    from ganrepro.models.registry import get_family

    m = {**PAPER_KNOBS_2D, **model}
    g = get_family("stylegan2").scale_knobs({**m["g"], "family": "stylegan2"}, resolution=resolution,
                                           paper_resolution=paper_resolution, scale=scale)
    d = scale_knobs({k: v for k, v in m.items() if k in PAPER_KNOBS and k != "family"}, resolution=resolution,
                    paper_resolution=paper_resolution, scale=scale)
    out = {k: d[k] for k in PAPER_KNOBS_2D if k in d}
    return {**out, "family": model.get("family", "epigraf2d"), "g": g}


register_family("epigraf2d", build=build_2d, scale_knobs=scale_knobs_2d)

