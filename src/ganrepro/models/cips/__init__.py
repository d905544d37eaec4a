"""CIPS (CIPSskip generator, StyleGAN2 ResNet discriminator) and its coordinate grids.

The names below are imported from their modules on first access (PEP 562), so that importing the
torch-free ``family`` / ``knobs`` (resolving a run) does not import torch. Full module names:
dvc.yaml's import closure (orchestration/dvc.py) reads them.
"""

from ganrepro.lazy_exports import lazy_exports

_MODULES = {
    "ganrepro.models.cips.coords": ("crop", "extrapolation_grid", "grid", "pixel_coords", "random_offsets", "rcrop"),
    "ganrepro.models.cips.discriminator": ("CIPSDiscriminator",),
    "ganrepro.models.cips.embedding": ("FourierFeatures", "LearnedEmbedding"),
    "ganrepro.models.cips.generator": ("CIPSGenerator",),
}
__getattr__, __all__ = lazy_exports(__name__, _MODULES)
