"""The augmentation pipe: multipliers, strengths, presets and the forward pass (see the package docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ganrepro.errors import ConfigError

from .blit import BLIT_TRANSFORMS, apply_blit, sample_blit
from .color import COLOR_TRANSFORMS, apply_color, sample_color
from .cutout import apply_cutout, sample_cutout
from .draws import Draws
from .geometric import GEOM_TRANSFORMS, apply_geometric, sample_geometric

TRANSFORMS = BLIT_TRANSFORMS + GEOM_TRANSFORMS + COLOR_TRANSFORMS + ("cutout",)

PRESETS: dict[str, dict[str, float]] = {
    # R3GAN (and StyleGAN2-ADA's "bgc" + cutout): blit and geometry at 1, colour at 0.5.
    "r3gan": dict(
        xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
        brightness=0.5, contrast=0.5, lumaflip=0.5, hue=0.5, saturation=0.5, cutout=1,
    ),
    # EpiGRAF's official config (configs/training/base.yaml augment.probs): StyleGAN2-ADA's "bgc" with
    # xflip 0 (mirroring is the dataset's, with yaw negated), under ADA's adaptive p.
    "epigraf": dict(
        xflip=0, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
        brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1, cutout=0,
    ),
    "none": {name: 0 for name in TRANSFORMS},
}


@dataclass
class AugmentParams:
    """Random parameters of one forward pass (all on one device, float32 unless stated).

    masks: bool ``[N]`` per name in ``TRANSFORMS``: the transform's gate passed for that sample
      (``rotate`` is the union of its two draws). A passed gate may still draw an identity value
      (e.g. ``xflip`` draws "no flip" half the time, ``xint`` may round to 0 pixels).
    blit: ``[N, 3, 3]`` inverse (output -> input) map on doubled centred pixel coordinates, or None.
    geom: ``[N, 3, 3]`` inverse map on centred pixel coordinates, or None.
    geom_active: bool ``[N]`` samples with a geometric transform drawn.
    color: ``[N, 4, 4]`` homogeneous RGB matrix, or None.
    cutout_center: ``[N, 2]`` (x, y) in [0, 1], or None; cutout_size: ``[N]`` (0 where not applied).
    """

    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    blit: torch.Tensor | None = None
    geom: torch.Tensor | None = None
    geom_active: torch.Tensor | None = None
    color: torch.Tensor | None = None
    cutout_center: torch.Tensor | None = None
    cutout_size: torch.Tensor | None = None

    def to(self, device: torch.device) -> "AugmentParams":
        def mv(t):
            return None if t is None else t.to(device, non_blocking=True)

        return AugmentParams(
            masks={k: v.to(device) for k, v in self.masks.items()},
            blit=mv(self.blit), geom=mv(self.geom), geom_active=mv(self.geom_active),
            color=mv(self.color), cutout_center=mv(self.cutout_center),
            cutout_size=mv(self.cutout_size),
        )


class AugmentPipe(torch.nn.Module):
    """ADA-style augmentation with externally supplied probability ``p`` (see module docstring).

    Multipliers (probability of each transform is ``p * multiplier``) default to R3GAN's preset.
    Strengths default to StyleGAN2-ADA's: integer translation up to ``xint_max`` of the image
    size; isotropic/anisotropic scale ``2**N(0, std)``; rotation uniform in
    ``+-rotate_max * 180`` degrees; fractional translation ``N(0, xfrac_std)`` of the size;
    brightness offset ``N(0, brightness_std)``; contrast ``2**N(0, contrast_std)``; hue rotation
    uniform in ``+-hue_max * 180`` degrees; saturation ``2**N(0, saturation_std)``; cutout side
    ``cutout_size`` of the image.

    After each forward, ``self.last_params`` holds the :class:`AugmentParams` used (masks etc.)
    when ``record=True`` (default).
    """

    def __init__(
        self,
        *,
        xflip: float = 1,
        rotate90: float = 1,
        xint: float = 1,
        scale: float = 1,
        rotate: float = 1,
        aniso: float = 1,
        xfrac: float = 1,
        brightness: float = 0.5,
        contrast: float = 0.5,
        lumaflip: float = 0.5,
        hue: float = 0.5,
        saturation: float = 0.5,
        cutout: float = 1,
        xint_max: float = 0.125,
        scale_std: float = 0.2,
        rotate_max: float = 1.0,
        aniso_std: float = 0.2,
        xfrac_std: float = 0.125,
        brightness_std: float = 0.2,
        contrast_std: float = 0.5,
        hue_max: float = 1.0,
        saturation_std: float = 1.0,
        cutout_size: float = 0.5,
        supersample: int = 2,
        record: bool = True,
    ):
        super().__init__()
        self.mult = dict(
            xflip=float(xflip), rotate90=float(rotate90), xint=float(xint), scale=float(scale),
            rotate=float(rotate), aniso=float(aniso), xfrac=float(xfrac),
            brightness=float(brightness), contrast=float(contrast), lumaflip=float(lumaflip),
            hue=float(hue), saturation=float(saturation), cutout=float(cutout),
        )
        for name, value in self.mult.items():
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"augment multiplier {name}={value!r} must be finite and >= 0")
        self.xint_max = float(xint_max)
        self.scale_std = float(scale_std)
        self.rotate_max = float(rotate_max)
        self.aniso_std = float(aniso_std)
        self.xfrac_std = float(xfrac_std)
        self.brightness_std = float(brightness_std)
        self.contrast_std = float(contrast_std)
        self.hue_max = float(hue_max)
        self.saturation_std = float(saturation_std)
        self.cutout_size = float(cutout_size)
        if int(supersample) < 1:
            raise ValueError(f"supersample must be a positive integer, got {supersample!r}")
        self.supersample = int(supersample)
        self.record = bool(record)
        self.last_params: AugmentParams | None = None

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "AugmentPipe":
        """``"r3gan"`` (blit/geometry x1, colour x0.5, cutout x1), ``"epigraf"`` ("bgc", no xflip) or
        ``"none"``; kwargs override."""
        if name not in PRESETS:
            raise ConfigError(
                f"unknown augmentation preset {name!r}; choose one of {sorted(PRESETS)} "
                "(augment.preset in the experiment params)"
            )
        return cls(**{**PRESETS[name], **overrides})

    @property
    def enabled(self) -> bool:
        return any(v > 0 for v in self.mult.values())

    def extra_repr(self) -> str:
        on = ", ".join(f"{k}={v:g}" for k, v in self.mult.items() if v > 0) or "none"
        return f"{on}, supersample={self.supersample}"

    # ------------------------------------------------------------------------------------------
    def sample_params(
        self,
        n: int,
        p: float,
        *,
        height: int,
        width: int,
        channels: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> AugmentParams:
        """Draw the random parameters for ``n`` samples (on ``generator``'s device, else ``device``).

        Groups draw in a fixed order (blit, geometric, colour, cutout); a group whose multipliers
        are all 0 draws nothing. Every name in ``TRANSFORMS`` gets a mask (all False if disabled).
        """
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"augmentation probability p must be in [0, 1], got {p}")
        dev = generator.device if generator is not None else torch.device(device or "cpu")
        draws = Draws(n, generator, dev)
        params = AugmentParams()
        masks = params.masks
        params.blit = sample_blit(
            draws, self.mult, p, masks, height=height, width=width, xint_max=self.xint_max
        )
        geom = sample_geometric(
            draws, self.mult, p, masks, height=height, width=width, scale_std=self.scale_std,
            rotate_max=self.rotate_max, aniso_std=self.aniso_std, xfrac_std=self.xfrac_std,
        )
        if geom is not None:
            params.geom, params.geom_active = geom
        params.color = sample_color(
            draws, self.mult, p, masks, channels=channels, brightness_std=self.brightness_std,
            contrast_std=self.contrast_std, hue_max=self.hue_max, saturation_std=self.saturation_std,
        )
        cut = sample_cutout(draws, self.mult, p, masks, size=self.cutout_size)
        if cut is not None:
            params.cutout_center, params.cutout_size = cut
        for name in TRANSFORMS:  # disabled transforms report "never applied"
            masks.setdefault(name, torch.zeros(n, dtype=torch.bool, device=dev))
        return params

    # ------------------------------------------------------------------------------------------
    def forward(
        self, images: torch.Tensor, p: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"augmentation probability p must be in [0, 1], got {p}")
        if p == 0.0 or not self.enabled:
            return images
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images [N, C, H, W] with C in (1, 3), got {tuple(images.shape)}")
        n, c, h, w = images.shape
        params = self.sample_params(
            n, p, height=h, width=w, channels=c, generator=generator, device=images.device
        )
        if self.record:
            self.last_params = params
        x = images
        if params.blit is not None:
            x = apply_blit(x, params.blit.to(x.device))
        if params.geom is not None:
            # Selected on the parameters' device: no device sync when the generator lives on CPU.
            idx = torch.nonzero(params.geom_active).squeeze(1)
            if idx.numel() > 0:
                idx = idx.to(x.device)
                sub = apply_geometric(
                    x.index_select(0, idx), params.geom.to(x.device)[idx], self.supersample
                )
                x = x.index_copy(0, idx, sub)
        if params.color is not None:
            x = apply_color(x, params.color.to(x.device))
        if params.cutout_center is not None:
            x = apply_cutout(x, params.cutout_center, params.cutout_size)
        return x
