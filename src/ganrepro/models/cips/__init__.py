"""CIPS (CIPSskip generator, StyleGAN2 ResNet discriminator) and its coordinate grids.

The names below are imported from their modules on first access (PEP 562), so that importing the
torch-free ``family`` / ``knobs`` (resolving a run) does not import torch. Full module names:
dvc.yaml's import closure (orchestration/dvc.py) reads them.
"""

import importlib

_MODULES = {
    "ganrepro.models.cips.coords": ("crop", "extrapolation_grid", "grid", "pixel_coords", "random_offsets", "rcrop"),
    "ganrepro.models.cips.discriminator": ("CIPSDiscriminator",),
    "ganrepro.models.cips.embedding": ("FourierFeatures", "LearnedEmbedding"),
    "ganrepro.models.cips.generator": ("CIPSGenerator",),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
