"""EpiGRAF networks: tri-plane NeRF generator rendered patch-wise, patch-aware discriminators."""

from .camera import CAMERA_PRESETS, cam2world, camera_origins, camera_rays, frustum_inside_cube, ndc_grid
from .discriminator import (PAPER_DISCRIMINATOR, PatchDiscriminator, ScaleRoutedDiscriminator, build_discriminator,
                            scale_buckets)
from .generator import PAPER_GENERATOR, EpiGRAFGenerator

__all__ = ["CAMERA_PRESETS", "PAPER_DISCRIMINATOR", "PAPER_GENERATOR", "EpiGRAFGenerator", "PatchDiscriminator",
           "ScaleRoutedDiscriminator", "build_discriminator", "cam2world", "camera_origins", "camera_rays",
           "frustum_inside_cube", "ndc_grid", "scale_buckets"]
