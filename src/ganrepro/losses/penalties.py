"""Gradient penalties: R1 (on reals), R2 (on fakes) and StyleGAN2's path-length regulariser."""

from __future__ import annotations

import math

import torch


def gradient_sq_norm(logits: torch.Tensor, inputs: torch.Tensor, *, create_graph: bool) -> torch.Tensor:
    """Per-sample squared norm of dD/dx, ||grad_x D(x)||^2, shape [N].

    R1 is its mean over reals, R2 its mean over fakes; the penalty is gamma / 2 * (R1 + R2).
    `inputs` are the un-augmented images: gradients pass through the differentiable augmentation.
    """
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=create_graph, retain_graph=True)
    return grad.float().square().flatten(1).sum(1)


def pair_gradient_sq_norm(real_logits, fake_logits, real, fake, *, create_graph: bool):
    """``(gradient_sq_norm(real_logits, real), gradient_sq_norm(fake_logits, fake))`` in one backward pass
    (the logits of one batch do not depend on the other batch's images)."""
    grads = torch.autograd.grad(real_logits.sum() + fake_logits.sum(), [real, fake], create_graph=create_graph,
                                retain_graph=True)
    return tuple(g.float().square().flatten(1).sum(1) for g in grads)


def path_length_penalty(images: torch.Tensor, ws: torch.Tensor, pl_mean: torch.Tensor, decay: float = 0.01):
    """StyleGAN2 path-length regularisation. Returns (per-sample penalty [N], updated pl_mean).

    Jacobian-vector product of the images with unit-variance noise scaled by 1/sqrt(H*W), its norm per
    sample compared with an exponential moving average of past norms.
    """
    h, w = images.shape[2], images.shape[3]
    noise = torch.randn_like(images) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.square().sum(2).mean(1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean().detach(), decay)
    return (lengths - new_mean).square(), new_mean
