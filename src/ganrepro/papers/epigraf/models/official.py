"""Official EpiGRAF checkpoint names (universome/epigraf, persistence pickles of ``networks_epigraf.Generator``
and ``networks_discriminator.Discriminator``) -> the project's ``epigraf`` family.

G: ``mapping.*`` as stylegan2-ada (``fc{i}``, ``embed``, ``w_avg``); ``synthesis.tri_plane_decoder.b{res}`` (a
stylegan2 skip synthesis network producing the planes) -> ``synthesis.blocks.{k}`` by the stylegan2 rules;
``synthesis.tri_plane_mlp.model.{0,1}`` (FullyConnectedLayer feat -> hidden lrelu -> RGB + density) ->
``decoder.fc{0,1}``. A background field (``synthesis.bg_model``, off in the official configs) and a
pose-conditioned mapping's ``mean_camera_pose`` (the official evaluation conditions on it, the project on
the rendered view) have no place: the import says so.
D: ``scalar_enc`` (patch (s, dx, dy) Fourier features + ``const_embed``) -> ``patch_enc``;
``hyper_mod_mapping`` / ``head_mapping`` (MappingNetwork with z_dim 0: ``embed``, ``fc{i}``) -> ``hyper`` /
``head`` (``embed``, ``layers.{i}``); ``b{res}`` (virtual resolutions R .. 8) -> ``blocks.{k}``, k = log2 R -
log2 res, with the hypernetwork's ``conv1.affine`` -> ``blocks.{k}.affine``; ``b4`` -> ``epilogue``. Every
official block builds a ``fromrgb`` but only the first one reads the image: the others' are unused by the
official forward and are dropped. Fourier frequency buffers and resampling filters are checked, not copied.
"""

from __future__ import annotations

import math

import torch

from ganrepro.checkpoints.mapping import IGNORE, CheckpointError, check_filter, register_importer
from ganrepro.checkpoints.official_r3gan import stylegan2_rules

from .discriminator import PatchDiscriminator

_FILTER = (r"(.*resample_filter)", lambda m, t: check_filter(m[1], t, [1, 3, 3, 1]))


def _check_freqs(encoder):
    """Rule target for an official ``fourier_coefs`` buffer: IGNORE once equal to the project's frequencies."""

    def check(m, t):
        ours = None if encoder is None else encoder.freqs
        if ours is None or tuple(t.shape) != tuple(ours.shape) or not torch.allclose(t.float(), ours, rtol=1e-5):
            raise CheckpointError(f"official Fourier frequencies {m[0]!r} {t.tolist()} differ from the project's "
                                  f"{None if ours is None else ours.tolist()}: the encoder's x_multiplier (1000 for "
                                  "patches, 64 for cameras) or the experiment's camera_encoding does not match")
        return IGNORE

    return check


def _mapping(official: str, ours: str) -> list:
    """MappingNetwork(z_dim=0) of the official D -> the project's ConditionMapping."""
    return [(rf"{official}\.embed\.(weight|bias)", lambda m, t: f"{ours}.embed.{m[1]}"),
            (rf"{official}\.fc(\d+)\.(weight|bias)", lambda m, t: f"{ours}.layers.{m[1]}.{m[2]}")]


def generator_rules(target) -> list:
    rules = [(r"synthesis\.tri_plane_mlp\.model\.(\d+)\.(weight|bias)", lambda m, t: f"decoder.fc{m[1]}.{m[2]}")]
    for pattern, fn in stylegan2_rules("G", target):
        rules.append((pattern.replace(r"synthesis\.", r"synthesis\.tri_plane_decoder\.", 1), fn))
    return rules


def discriminator_rules(target) -> list:
    if not isinstance(target, PatchDiscriminator):
        raise CheckpointError("the official EpiGRAF discriminator is one patch D (d_variant hyper or standard); "
                              f"this experiment builds {type(target).__name__} (d_variant multi, not in the official "
                              "code): import it into an experiment with d_variant hyper")
    top = int(math.log2(target.img_resolution))
    k = lambda m: top - int(math.log2(int(m[1])))  # noqa: E731

    def fromrgb(m, t):
        return f"from_rgb.{m[2]}" if k(m) == 0 else IGNORE  # only the first official block reads the image

    return [
        (r"scalar_enc\.const_embed\.weight", lambda m, t: "patch_enc.const_embed.weight"),
        (r"scalar_enc\.fourier_encoder\.fourier_coefs", _check_freqs(target.patch_enc)),
        (r"head_mapping\.camera_scalar_enc\.fourier_encoder\.fourier_coefs", _check_freqs(target.camera_enc)),
        *_mapping("hyper_mod_mapping", "hyper"), *_mapping("head_mapping", "head"),
        (r"b(\d+)\.fromrgb\.(weight|bias)", fromrgb),
        (r"b4\.(conv|fc|out)\.(weight|bias)", lambda m, t: f"epilogue.{m[1]}.{m[2]}"),
        (r"b(\d+)\.conv1\.affine\.(weight|bias)", lambda m, t: f"blocks.{k(m)}.affine.{m[2]}"),
        (r"b(\d+)\.(conv0|conv1|skip)\.(weight|bias)", lambda m, t: f"blocks.{k(m)}.{m[2]}.{m[3]}"),
        _FILTER,
    ]


def epigraf_rules(net: str, target) -> list:
    return discriminator_rules(target) if net == "D" else generator_rules(target)


register_importer("epigraf", epigraf_rules)
