"""ganrepro: regenerate the tables and figures of EpiGRAF, R3GAN and multi-stage INR-GAN training."""

__version__ = "0.1.0"
