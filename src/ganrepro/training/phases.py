"""One discriminator step and one generator step: losses, penalties, gradient statistics.

D step: D sees an augmented real batch and an augmented batch of fakes; its loss is the objective
plus gamma / 2 * (R1 + R2), with R1/R2 the squared input-gradient norms on reals/fakes taken w.r.t.
the un-augmented images. Both norms are measured every step (for the stats and the divergence guard)
even when a penalty is off or lazy. G step: a fresh z and, for RpGAN, a fresh paired real batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..losses import d_loss, g_loss, gradient_sq_norm, path_length_penalty


@dataclass
class Nets:
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module
    augment: torch.nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    pl_mean: torch.Tensor = field(default_factory=lambda: torch.zeros([]))


def generate(G, z, c, style_mixing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fakes, with StyleGAN2 style mixing when G has a mapping network. Returns (images, ws or None)."""
    if not hasattr(G, "mapping"):
        return G(z, c), None
    ws = G.mapping(z, c)
    if style_mixing > 0 and random.random() < style_mixing:
        cutoff = random.randint(1, ws.shape[1] - 1) if ws.shape[1] > 1 else 1
        ws2 = G.mapping(torch.randn_like(z), c)
        ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return G.synthesis(ws), ws


def d_step(nets: Nets, loss_cfg: dict, real, c_real, z, c_fake, *, gamma: float, aug_p: float,
           apply_reg: bool, scale: float = 1.0, autocast=None) -> dict:
    """Accumulates D gradients for one (micro-)batch. `scale` divides the loss for accumulation."""
    with torch.no_grad():
        fake, _ = generate(nets.G, z, c_fake, loss_cfg["style_mixing"])
    real = real.detach().requires_grad_(True)
    fake = fake.detach().float().requires_grad_(True)
    with autocast():
        real_logits = nets.D(nets.augment(real, aug_p), c_real).float()
        fake_logits = nets.D(nets.augment(fake, aug_p), c_fake).float()
    adv = d_loss(loss_cfg["objective"], real_logits, fake_logits).mean()
    r1_on = loss_cfg["r1"] and apply_reg
    r2_on = loss_cfg["r2"] and apply_reg
    r1_sq = gradient_sq_norm(real_logits, real, create_graph=r1_on)
    r2_sq = gradient_sq_norm(fake_logits, fake, create_graph=r2_on)
    penalty = torch.zeros([])
    if r1_on:
        penalty = penalty + r1_sq.mean()
    if r2_on:
        penalty = penalty + r2_sq.mean()
    reg_weight = gamma / 2 * loss_cfg["reg_interval"]  # lazy regularisation scales the penalty up
    total = adv + reg_weight * penalty
    (total * scale).backward()
    return {
        "loss_d": adv.item(),
        "loss_d_reg": (reg_weight * penalty).item(),
        "d_real": real_logits.mean().item(),
        "d_fake": fake_logits.mean().item(),
        "grad_sq_real": r1_sq.mean().item(),
        "grad_sq_fake": r2_sq.mean().item(),
    }


def g_step(nets: Nets, loss_cfg: dict, real, c_real, z, c_fake, *, aug_p: float, scale: float = 1.0,
           autocast=None) -> dict:
    fake, _ = generate(nets.G, z, c_fake, loss_cfg["style_mixing"])
    with autocast():
        fake_logits = nets.D(nets.augment(fake.float(), aug_p), c_fake).float()
        real_logits = None
        if loss_cfg["objective"] == "rpgan":
            with torch.no_grad():
                real_logits = nets.D(nets.augment(real, aug_p), c_real).float()
    loss = g_loss(loss_cfg["objective"], fake_logits, real_logits).mean()
    (loss * scale).backward()
    return {"loss_g": loss.item()}


def pl_step(nets: Nets, loss_cfg: dict, z, c, *, interval: int, scale: float = 1.0) -> dict:
    """StyleGAN2 lazy path-length regularisation on half a batch (config A only)."""
    n = max(1, z.shape[0] // 2)
    ws = nets.G.mapping(z[:n], None if c is None else c[:n])
    images = nets.G.synthesis(ws)
    penalty, nets.pl_mean = path_length_penalty(images, ws, nets.pl_mean.to(z.device))
    loss = penalty.mean() * loss_cfg["pl_weight"] * interval
    (loss * scale + images[:, 0, 0, 0].sum() * 0).backward()
    return {"loss_g_pl": loss.item()}
