"""Non-leaking differentiable augmentation (the StyleGAN2-ADA pipeline, with a fixed/scheduled p).

R3GAN trains with the ADA pipeline restricted to pixel blitting, geometric, colour and cutout
transforms, with a probability ``p`` given by a schedule instead of ADA's adaptive controller.
This is an independent pure-PyTorch implementation of that pipeline (no custom CUDA ops):

1. **Pixel blitting** (multiplier ``xflip``, ``rotate90``, ``xint``): per sample an integer
   3x3 homogeneous matrix on *doubled* centred pixel coordinates (``2*x - (W-1)``, always an
   integer), executed exactly as an index gather with ``reflect`` padding. The result is an exact
   permutation/reflection of the input pixels (no resampling error).
2. **Geometric** (``scale``, ``rotate``, ``aniso``, ``xfrac``): per sample a float 3x3 inverse
   matrix on centred pixel coordinates, converted to ``F.affine_grid``'s normalised coordinates and
   executed with ``F.grid_sample`` (bilinear, ``padding_mode="reflection"``) with ``supersample``-x
   supersampling (see deviations). Only the samples whose geometric matrix was drawn are resampled.
3. **Colour** (``brightness``, ``contrast``, ``lumaflip``, ``hue``, ``saturation``): per sample a
   4x4 homogeneous matrix on RGB, applied elementwise (no matmul, hence no TF32 rounding). For
   1-channel images only brightness, contrast and luma flip apply (hue and saturation are the
   identity on the grey axis); the matrix is projected to a scalar gain and offset as in ADA.
4. **Cutout** (``cutout``): per sample an axis-aligned square of side ``cutout_size`` (relative to
   the image size) centred uniformly in the image is zeroed.

Every transform is applied to each sample independently with probability ``p * multiplier``;
arbitrary rotation is drawn twice (before and after the anisotropic scale) with probability
``1 - sqrt(1 - p * rotate)`` each, so that *some* rotation happens with probability ``p * rotate``
(as in ADA). The pipeline is linear in the images for fixed random parameters, differentiable
(including double backward, needed by R1/R2 penalties) and deterministic given a
``torch.Generator``. ``p == 0`` returns the input object itself at no cost.

Deviations from StyleGAN2-ADA (``training/augment.py`` of the official code), documented:

- ADA merges blitting and geometry into one matrix and resamples once with a sym6 wavelet
  2x upsample / grid_sample / 2x downsample. Here blitting is an exact integer gather and geometry
  is resampled separately, with *nearest* ``k``-x upsampling, bilinear ``grid_sample`` on the
  ``k``-x grid and ``k``x``k`` box downsampling (``supersample=k``, default 2; ``1`` = plain
  bilinear). The nearest upsampling is folded into the sampling coordinates, never materialised.
  This scheme is the identity (to float rounding, ~2e-6) for the identity matrix, equals plain
  bilinear for pure translations and anti-aliases minification by averaging ``k**2`` taps; its
  interpolation kernel is cruder than ADA's sym6 wavelet (more aliasing/blur under rotation).
- Geometric padding is ``grid_sample``'s ``reflection`` (mirror about the image edge, i.e.
  ``symmetric``), ADA pads with ``reflect`` (mirror about the edge pixel). Blitting uses ``reflect``
  as ADA does.
- ADA resamples the whole batch when any sample has a non-identity geometric matrix (identity
  samples then go through the near-identity wavelet round trip); here only transformed samples are
  resampled, so untransformed samples are returned bit-exactly.
- Image-space filtering, additive noise and the adaptive ``p`` controller are not implemented
  (R3GAN does not use them). ``rotate90`` is disabled for non-square images.
- Random parameters are drawn from ``generator`` on its own device (then moved to the images'
  device), in this module's own order; outputs are not bitwise comparable with ADA's. With a CPU
  generator the forward pass needs no host-device sync; with ``generator=None`` on CUDA the
  selection of the geometric subset costs one sync.
- Blitting, colour and cutout run on the whole batch (each is bit-exact for samples whose gate did
  not pass); only geometry uses a subset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ganrepro.errors import ConfigError

__all__ = [
    "AugmentPipe",
    "AugmentParams",
    "PRESETS",
    "TRANSFORMS",
    "apply_blit",
    "apply_geometric",
    "apply_color",
    "apply_cutout",
]

BLIT_TRANSFORMS = ("xflip", "rotate90", "xint")
GEOM_TRANSFORMS = ("scale", "rotate", "aniso", "xfrac")
COLOR_TRANSFORMS = ("brightness", "contrast", "lumaflip", "hue", "saturation")
TRANSFORMS = BLIT_TRANSFORMS + GEOM_TRANSFORMS + COLOR_TRANSFORMS + ("cutout",)

PRESETS: dict[str, dict[str, float]] = {
    # R3GAN (and StyleGAN2-ADA's "bgc" + cutout): blit and geometry at 1, colour at 0.5.
    "r3gan": dict(
        xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
        brightness=0.5, contrast=0.5, lumaflip=0.5, hue=0.5, saturation=0.5, cutout=1,
    ),
    "none": {name: 0 for name in TRANSFORMS},
}

# Luma axis of the colour transforms (ADA: v = [1, 1, 1, 0] / sqrt(3)).
_LUMA = 1.0 / math.sqrt(3.0)


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


# ----------------------------------------------------------------------------------------------
# Executors (public so that tests and other code can drive them with explicit matrices).


def _reflect_index(i: torch.Tensor, size: int) -> torch.Tensor:
    """Map integer indices onto ``[0, size)`` by ``reflect`` padding (mirror about edge pixels)."""
    if size == 1:
        return torch.zeros_like(i)
    period = 2 * (size - 1)
    i = torch.remainder(i, period)
    return torch.where(i >= size, period - i, i)


def apply_blit(images: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Exact integer warp. ``matrix`` ``[N, 3, 3]`` maps output to input doubled centred coords.

    Doubled centred coordinates are ``u = 2*x - (W-1)``, ``v = 2*y - (H-1)`` (integers); the matrix
    must map them to integers of the same parity (flips, 90-degree rotations of square images and
    translations by even amounts, i.e. whole pixels). Out-of-range sources are ``reflect``-padded.
    Evaluated elementwise (exact in float32), executed as a gather (differentiable).
    """
    n, c, h, w = images.shape
    m = matrix.to(device=images.device, dtype=torch.float32)
    u = (torch.arange(w, device=images.device, dtype=torch.float32) * 2 - (w - 1)).view(1, 1, w)
    v = (torch.arange(h, device=images.device, dtype=torch.float32) * 2 - (h - 1)).view(1, h, 1)
    su = m[:, 0, 0, None, None] * u + m[:, 0, 1, None, None] * v + m[:, 0, 2, None, None]
    sv = m[:, 1, 0, None, None] * u + m[:, 1, 1, None, None] * v + m[:, 1, 2, None, None]
    sx = _reflect_index(torch.round((su + (w - 1)) / 2).long(), w)
    sy = _reflect_index(torch.round((sv + (h - 1)) / 2).long(), h)
    index = (sy * w + sx).reshape(n, 1, h * w).expand(n, c, h * w)
    return images.reshape(n, c, h * w).gather(2, index).reshape(n, c, h, w)


def _subpixel_warp(coord: torch.Tensor, k: int) -> torch.Tensor:
    """Pixel-index coordinate at which plain bilinear sampling of the original image equals
    bilinear sampling of its ``k``-x nearest-upsampled copy at ``coord``.

    Within a source pixel the upsampled image is constant; bilinear weights ramp only across the
    ``1/k``-wide gap between the outermost sub-pixel centres of neighbouring pixels.
    """
    base = torch.floor(coord)
    ramp = ((coord - base) - 0.5 + 0.5 / k) * k
    return base + ramp.clamp(0.0, 1.0)


def apply_geometric(images: torch.Tensor, matrix: torch.Tensor, supersample: int = 2) -> torch.Tensor:
    """Resample with an inverse map ``matrix`` ``[N, 3, 3]`` on centred pixel coordinates.

    Output pixel centre ``(x - (W-1)/2, y - (H-1)/2)`` samples the input at ``matrix @ [x, y, 1]``.
    With ``supersample = k``: the output is rendered on a ``k``-x finer grid by bilinear
    ``grid_sample`` (``reflection`` padding) of the ``k``-x *nearest*-upsampled input, then
    ``k`` x ``k`` box-downsampled. The nearest upsampling is never materialised: it is folded into
    the sampling coordinates (:func:`_subpixel_warp`). Exact (to float rounding) for the identity
    matrix; equal to plain bilinear for pure translations; ``k**2``-tap anti-aliasing when shrinking.
    """
    n, c, h, w = images.shape
    k = int(supersample)
    if k < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample!r}")
    m = matrix.to(device=images.device, dtype=torch.float32)
    # Normalised coords (align_corners=False): x_norm = x_centred / (W/2).
    s = torch.tensor([w / 2.0, h / 2.0, 1.0], device=images.device)
    theta = (m * s.view(1, 1, 3)) / s.view(1, 3, 1)  # = diag(s)^-1 @ m @ diag(s)
    grid = F.affine_grid(theta[:, :2, :], [n, c, h * k, w * k], align_corners=False)
    if k > 1:
        px = _subpixel_warp(((grid[..., 0] + 1) * w - 1) / 2, k)
        py = _subpixel_warp(((grid[..., 1] + 1) * h - 1) / 2, k)
        grid = torch.stack(((2 * px + 1) / w - 1, (2 * py + 1) / h - 1), dim=-1)
    y = F.grid_sample(
        images, grid.to(images.dtype), mode="bilinear", padding_mode="reflection", align_corners=False
    )
    if k > 1:
        y = F.avg_pool2d(y, k)
    return y


def apply_color(images: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply homogeneous RGB matrices ``[N, 4, 4]`` elementwise (exact for the identity).

    1-channel images use ADA's projection: gain = mean over RGB rows of the row sums of the 3x3
    part, offset = mean of the translation column.
    """
    n, c, h, w = images.shape
    m = matrix.to(device=images.device, dtype=images.dtype)
    if c == 3:
        r, g, b = images[:, 0:1], images[:, 1:2], images[:, 2:3]
        rows = []
        for i in range(3):
            coef = m[:, i, :, None, None, None]  # [N, 4, 1, 1, 1]
            rows.append(coef[:, 0] * r + coef[:, 1] * g + coef[:, 2] * b + coef[:, 3])
        return torch.cat(rows, dim=1)
    if c == 1:
        rows3 = m[:, :3, :]
        gain = rows3[:, :, :3].sum(dim=2).mean(dim=1)
        offset = rows3[:, :, 3].mean(dim=1)
        return images * gain.view(n, 1, 1, 1) + offset.view(n, 1, 1, 1)
    raise ValueError(f"colour transforms need 1 or 3 channels, got {c}")


def apply_cutout(images: torch.Tensor, center: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """Zero a square of side ``size`` ``[N]`` (fraction of W and H) centred at ``center`` ``[N, 2]``.

    A pixel is kept when its centre is at least ``size/2`` away from the centre along x or along y
    (ADA's rule); ``size == 0`` keeps everything.
    """
    n, c, h, w = images.shape
    dev = images.device
    center = center.to(device=dev, dtype=torch.float32)
    half = (size.to(device=dev, dtype=torch.float32) / 2).view(n, 1, 1)
    xs = ((torch.arange(w, device=dev, dtype=torch.float32) + 0.5) / w).view(1, 1, w)
    ys = ((torch.arange(h, device=dev, dtype=torch.float32) + 0.5) / h).view(1, h, 1)
    keep = ((xs - center[:, 0].view(n, 1, 1)).abs() >= half) | (
        (ys - center[:, 1].view(n, 1, 1)).abs() >= half
    )
    return images * keep.unsqueeze(1).to(images.dtype)


# ----------------------------------------------------------------------------------------------
# Matrix helpers (batched, float32).


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched product of tiny matrices, elementwise in float32 (no bmm: no TF32, no overhead)."""
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


def _eye(n: int, size: int, device) -> torch.Tensor:
    return torch.eye(size, device=device).unsqueeze(0).repeat(n, 1, 1)


def _mat3(rows, device) -> torch.Tensor:
    """Stack a 3x3 nested list of [N] tensors / python scalars into ``[N, 3, 3]``."""
    n = next(x.shape[0] for row in rows for x in row if torch.is_tensor(x))
    out = []
    for row in rows:
        out.append(
            torch.stack(
                [x if torch.is_tensor(x) else torch.full((n,), float(x), device=device) for x in row],
                dim=-1,
            )
        )
    return torch.stack(out, dim=-2)


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
        """``"r3gan"`` (blit/geometry x1, colour x0.5, cutout x1) or ``"none"``; kwargs override."""
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
        """Draw the random parameters for ``n`` samples (on ``generator``'s device, else ``device``)."""
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"augmentation probability p must be in [0, 1], got {p}")
        dev = generator.device if generator is not None else torch.device(device or "cpu")
        mult = self.mult
        params = AugmentParams()
        masks = params.masks

        def rand(*shape):
            return torch.rand(shape, generator=generator, device=dev)

        def randn(*shape):
            return torch.randn(shape, generator=generator, device=dev)

        def gate(prob: float) -> torch.Tensor:
            return rand(n) < prob

        zeros = torch.zeros(n, device=dev)
        ones = torch.ones(n, device=dev)

        # --- pixel blitting: inverse map on doubled centred pixel coordinates ------------------
        if any(mult[k] > 0 for k in BLIT_TRANSFORMS):
            b = _eye(n, 3, dev)
            if mult["xflip"] > 0:
                flip = torch.floor(rand(n) * 2)
                m = gate(mult["xflip"] * p)
                flip = torch.where(m, flip, zeros)
                masks["xflip"] = m
                b = _mm(b, _mat3([[1 - 2 * flip, 0, 0], [0, 1, 0], [0, 0, 1]], dev))
            if mult["rotate90"] > 0:
                quarter = torch.floor(rand(n) * 4).long()
                m = gate(mult["rotate90"] * p) & (height == width)
                quarter = torch.where(m, quarter, torch.zeros_like(quarter))
                masks["rotate90"] = m
                cos = torch.tensor([1.0, 0.0, -1.0, 0.0], device=dev)[quarter]
                sin = torch.tensor([0.0, 1.0, 0.0, -1.0], device=dev)[quarter]
                b = _mm(b, _mat3([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], dev))
            if mult["xint"] > 0:
                t = (rand(n, 2) * 2 - 1) * self.xint_max
                m = gate(mult["xint"] * p)
                t = torch.where(m.unsqueeze(1), t, torch.zeros_like(t))
                masks["xint"] = m
                tx = torch.round(t[:, 0] * width)
                ty = torch.round(t[:, 1] * height)
                b = _mm(b, _mat3([[1, 0, -2 * tx], [0, 1, -2 * ty], [0, 0, 1]], dev))
            params.blit = b

        # --- geometric: inverse map on centred pixel coordinates -------------------------------
        if any(mult[k] > 0 for k in GEOM_TRANSFORMS):
            g = _eye(n, 3, dev)
            active = torch.zeros(n, dtype=torch.bool, device=dev)
            if mult["scale"] > 0:
                s = torch.exp2(randn(n) * self.scale_std)
                m = gate(mult["scale"] * p)
                s = torch.where(m, s, ones)
                masks["scale"] = m
                active |= m
                g = _mm(g, _mat3([[1 / s, 0, 0], [0, 1 / s, 0], [0, 0, 1]], dev))
            p_rot = 1 - math.sqrt(max(0.0, 1 - min(mult["rotate"] * p, 1.0)))
            rot_any = torch.zeros(n, dtype=torch.bool, device=dev)

            def rotate_step(g):
                nonlocal rot_any, active
                theta = (rand(n) * 2 - 1) * math.pi * self.rotate_max
                m = gate(p_rot)
                theta = torch.where(m, theta, zeros)
                rot_any = rot_any | m
                active = active | m
                c, s_ = torch.cos(theta), torch.sin(theta)
                return _mm(g, _mat3([[c, -s_, 0], [s_, c, 0], [0, 0, 1]], dev))

            if mult["rotate"] > 0:
                g = rotate_step(g)
            if mult["aniso"] > 0:
                s = torch.exp2(randn(n) * self.aniso_std)
                m = gate(mult["aniso"] * p)
                s = torch.where(m, s, ones)
                masks["aniso"] = m
                active |= m
                g = _mm(g, _mat3([[1 / s, 0, 0], [0, s, 0], [0, 0, 1]], dev))
            if mult["rotate"] > 0:
                g = rotate_step(g)
                masks["rotate"] = rot_any
            if mult["xfrac"] > 0:
                t = randn(n, 2) * self.xfrac_std
                m = gate(mult["xfrac"] * p)
                t = torch.where(m.unsqueeze(1), t, torch.zeros_like(t))
                masks["xfrac"] = m
                active |= m
                g = _mm(g, _mat3([[1, 0, -t[:, 0] * width], [0, 1, -t[:, 1] * height], [0, 0, 1]], dev))
            params.geom = g
            params.geom_active = active

        # --- colour: forward homogeneous 4x4 on RGB --------------------------------------------
        rgb = channels == 3
        color_on = [k for k in COLOR_TRANSFORMS if mult[k] > 0 and (rgb or k not in ("hue", "saturation"))]
        if color_on:
            cm = _eye(n, 4, dev)
            v = torch.tensor([_LUMA, _LUMA, _LUMA, 0.0], device=dev)
            vv = torch.outer(v, v)
            eye4 = torch.eye(4, device=dev)
            if "brightness" in color_on:
                bright = randn(n) * self.brightness_std
                m = gate(mult["brightness"] * p)
                bright = torch.where(m, bright, zeros)
                masks["brightness"] = m
                tr = _eye(n, 4, dev)
                tr[:, :3, 3] = bright.unsqueeze(1)
                cm = _mm(tr, cm)
            if "contrast" in color_on:
                c = torch.exp2(randn(n) * self.contrast_std)
                m = gate(mult["contrast"] * p)
                c = torch.where(m, c, ones)
                masks["contrast"] = m
                sc = _eye(n, 4, dev)
                sc[:, 0, 0] = c
                sc[:, 1, 1] = c
                sc[:, 2, 2] = c
                cm = _mm(sc, cm)
            if "lumaflip" in color_on:
                flip = torch.floor(rand(n) * 2)
                m = gate(mult["lumaflip"] * p)
                flip = torch.where(m, flip, zeros)
                masks["lumaflip"] = m
                cm = _mm((eye4 - 2 * vv * flip.view(n, 1, 1)), cm)
            if "hue" in color_on:
                theta = (rand(n) * 2 - 1) * math.pi * self.hue_max
                m = gate(mult["hue"] * p)
                theta = torch.where(m, theta, zeros)
                masks["hue"] = m
                # Rodrigues rotation about the luma axis.
                cos, sin = torch.cos(theta).view(n, 1, 1), torch.sin(theta).view(n, 1, 1)
                a = _LUMA
                cross = torch.tensor(
                    [[0, -a, a, 0], [a, 0, -a, 0], [-a, a, 0, 0], [0, 0, 0, 0]], device=dev
                )
                rot = vv + (eye4 - vv) * cos + cross * sin
                rot[:, 3, 3] = 1.0
                cm = _mm(rot, cm)
            if "saturation" in color_on:
                s = torch.exp2(randn(n) * self.saturation_std)
                m = gate(mult["saturation"] * p)
                s = torch.where(m, s, ones)
                masks["saturation"] = m
                sat = vv + (eye4 - vv) * s.view(n, 1, 1)
                sat[:, 3, 3] = 1.0
                cm = _mm(sat, cm)
            params.color = cm

        # --- cutout ------------------------------------------------------------------------------
        if mult["cutout"] > 0:
            center = rand(n, 2)
            m = gate(mult["cutout"] * p)
            masks["cutout"] = m
            params.cutout_center = center
            params.cutout_size = torch.where(m, torch.full((n,), self.cutout_size, device=dev), zeros)

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
