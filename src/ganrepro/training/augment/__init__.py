"""Non-leaking differentiable augmentation (the StyleGAN2-ADA pipeline, with a fixed/scheduled p).

R3GAN trains with the ADA pipeline restricted to pixel blitting, geometric, colour and cutout
transforms, with a probability ``p`` given by a schedule instead of ADA's adaptive controller.
This is an independent pure-PyTorch implementation of that pipeline (no custom CUDA ops). Each
group of transforms lives in its own module, which both draws its random parameters and executes
them:

1. **Pixel blitting** (:mod:`.blit`; multiplier ``xflip``, ``rotate90``, ``xint``): per sample an
   integer 3x3 homogeneous matrix on *doubled* centred pixel coordinates (``2*x - (W-1)``, always
   an integer), executed exactly as an index gather with ``reflect`` padding. The result is an
   exact permutation/reflection of the input pixels (no resampling error).
2. **Geometric** (:mod:`.geometric`; ``scale``, ``rotate``, ``aniso``, ``xfrac``): per sample a
   float 3x3 inverse matrix on centred pixel coordinates, converted to ``F.affine_grid``'s
   normalised coordinates and executed with ``F.grid_sample`` (bilinear,
   ``padding_mode="reflection"``) with ``supersample``-x supersampling (see deviations). Only the
   samples whose geometric matrix was drawn are resampled.
3. **Colour** (:mod:`.color`; ``brightness``, ``contrast``, ``lumaflip``, ``hue``, ``saturation``):
   per sample a 4x4 homogeneous matrix on RGB, applied elementwise (no matmul, hence no TF32
   rounding). For 1-channel images only brightness, contrast and luma flip apply (hue and
   saturation are the identity on the grey axis); the matrix is projected to a scalar gain and
   offset as in ADA.
4. **Cutout** (:mod:`.cutout`; ``cutout``): per sample an axis-aligned square of side
   ``cutout_size`` (relative to the image size) centred uniformly in the image is zeroed.

:mod:`.pipe` holds :class:`AugmentPipe` (multipliers, strengths, presets, the forward pass) and
:class:`AugmentParams`; :mod:`.draws` the random source shared by the groups and :mod:`.matrices`
the batched tiny-matrix helpers.

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
  device), in this package's own order; outputs are not bitwise comparable with ADA's. With a CPU
  generator the forward pass needs no host-device sync; with ``generator=None`` on CUDA the
  selection of the geometric subset costs one sync.
- Blitting, colour and cutout run on the whole batch (each is bit-exact for samples whose gate did
  not pass); only geometry uses a subset.
"""

from .blit import BLIT_TRANSFORMS, apply_blit
from .color import COLOR_TRANSFORMS, apply_color
from .cutout import apply_cutout
from .geometric import GEOM_TRANSFORMS, apply_geometric
from .pipe import PRESETS, TRANSFORMS, AugmentParams, AugmentPipe

__all__ = [
    "AugmentPipe",
    "AugmentParams",
    "PRESETS",
    "TRANSFORMS",
    "BLIT_TRANSFORMS",
    "GEOM_TRANSFORMS",
    "COLOR_TRANSFORMS",
    "apply_blit",
    "apply_geometric",
    "apply_color",
    "apply_cutout",
]
