"""EpiGRAF networks: tri-plane NeRF generator rendered patch-wise, patch-aware discriminators.

The names below are imported from their modules on first access (PEP 562), so that importing the
torch-free ``family`` / ``knobs`` (resolving a run) does not import torch. Full module names:
dvc.yaml's import closure (orchestration/dvc.py) reads them.
"""

import importlib

_MODULES = {
    "ganrepro.models.epigraf.camera": ("CAMERA_PRESETS", "cam2world", "camera_origins", "camera_rays",
                                       "frustum_inside_cube", "ndc_grid"),
    "ganrepro.models.epigraf.discriminator": ("PAPER_DISCRIMINATOR", "PatchDiscriminator",
                                              "ScaleRoutedDiscriminator", "build_discriminator", "scale_buckets"),
    "ganrepro.models.epigraf.generator": ("PAPER_GENERATOR", "EpiGRAFGenerator"),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
