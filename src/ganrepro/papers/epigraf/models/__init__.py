"""EpiGRAF networks: tri-plane NeRF generator rendered patch-wise, patch-aware discriminators.

The names below are imported from their modules on first access (PEP 562), so that importing the
torch-free ``family`` / ``knobs`` (resolving a run) does not import torch. Full module names:
dvc.yaml's import closure (orchestration/dvc.py) reads them.
"""

from ganrepro.lazy_exports import lazy_exports

_MODULES = {
    "ganrepro.papers.epigraf.models.camera": ("CAMERA_PRESETS", "cam2world", "camera_origins", "camera_rays",
                                       "frustum_inside_cube", "ndc_grid"),
    "ganrepro.papers.epigraf.models.discriminator": ("PAPER_DISCRIMINATOR", "PatchDiscriminator",
                                              "ScaleRoutedDiscriminator", "build_discriminator", "scale_buckets"),
    "ganrepro.papers.epigraf.models.generator": ("PAPER_GENERATOR", "EpiGRAFGenerator"),
}
__getattr__, __all__ = lazy_exports(__name__, _MODULES)
