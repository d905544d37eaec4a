"""CIPS (CIPSskip generator, StyleGAN2 ResNet discriminator) and its coordinate grids."""

from .coords import crop, extrapolation_grid, grid, pixel_coords, rcrop, random_offsets
from .discriminator import CIPSDiscriminator
from .embedding import FourierFeatures, LearnedEmbedding
from .generator import CIPSGenerator

__all__ = ["CIPSDiscriminator", "CIPSGenerator", "FourierFeatures", "LearnedEmbedding", "crop",
           "extrapolation_grid", "grid", "pixel_coords", "random_offsets", "rcrop"]
