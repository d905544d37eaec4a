"""RpGAN (relativistic pairing GAN) and the classic non-saturating GAN objective.

RpGAN pairs real and fake samples by index: D minimises softplus(-(D(x_r) - D(x_f))) and G minimises
softplus(-(D(x_f) - D(x_r))). The classic GAN: D minimises softplus(-D(x_r)) + softplus(D(x_f)) and
G the non-saturating softplus(-D(x_f)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OBJECTIVES = ("rpgan", "nsgan")


def _check(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")


def d_loss(objective: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Per-sample discriminator loss [N]."""
    _check(objective)
    if objective == "rpgan":
        return F.softplus(-(real_logits - fake_logits))
    return F.softplus(-real_logits) + F.softplus(fake_logits)


def g_loss(objective: str, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample generator loss [N]. RpGAN needs the (detached) logits of a paired real batch."""
    _check(objective)
    if objective == "rpgan":
        if real_logits is None:
            raise ValueError("RpGAN's generator loss needs real logits paired with the fakes")
        return F.softplus(-(fake_logits - real_logits))
    return F.softplus(-fake_logits)
