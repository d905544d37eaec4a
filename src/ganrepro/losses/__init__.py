"""Adversarial objectives and gradient penalties, as pure functions of logits and inputs."""

from .adversarial import OBJECTIVES, d_loss, g_loss
from .penalties import gradient_sq_norm, pair_gradient_sq_norm, path_length_penalty

__all__ = ["OBJECTIVES", "d_loss", "g_loss", "gradient_sq_norm", "pair_gradient_sq_norm", "path_length_penalty"]
