"""R3GAN's objective (its official trainer's step structure): the worked example of the seam.

Phase D: D sees an augmented real batch and an augmented batch of fakes; its loss is the adversarial
objective (RpGAN or the non-saturating GAN) plus gamma / 2 * (R1 + R2), R1/R2 the squared
input-gradient norms on reals/fakes taken w.r.t. the un-augmented images. Both norms are measured
every step (for the stats and the divergence guard) even when a penalty is off or lazy; a lazy
``reg_interval`` > 1 scales the penalties up on regularisation steps.
Phase G: a fresh z and, for RpGAN, a fresh paired real batch (its own stream).
Generators with a StyleGAN2 mapping network get style mixing and, when ``loss.pl_weight > 0``, lazy
path-length regularisation inside phase G every ``PL_INTERVAL`` steps.

``loss.phases: stylegan2`` in params selects stylegan2-ada's step structure instead
(``objectives/stylegan2.py``, config A); both share the passes of ``objectives/adversarial.py``.
"""

from __future__ import annotations

import random

import torch

from ..losses import d_loss, g_loss, gradient_sq_norm, pair_gradient_sq_norm
from . import register
from .adversarial import PL_INTERVAL, AdversarialObjective, has_mapping
from .base import Objective, Phase


def generate(G, z, c, style_mixing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fakes, with style mixing (Python's RNG) when G has a mapping network. Returns (images, ws or None)."""
    if not has_mapping(G):
        return G(z, c), None
    ws = G.mapping(z, c)
    if style_mixing > 0 and random.random() < style_mixing:
        cutoff = random.randint(1, ws.shape[1] - 1) if ws.shape[1] > 1 else 1
        ws2 = G.mapping(torch.randn_like(z), c)
        ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return G.synthesis(ws), ws


@register("r3gan")
class R3GANObjective(AdversarialObjective):
    name = "r3gan"
    streams = 2  # D's reals, and the reals paired with G's fakes (RpGAN)

    @classmethod
    def for_config(cls, cfg: dict) -> type[Objective]:
        """``loss.phases``: r3gan (this class) | stylegan2 (stylegan2-ada's step structure)."""
        from .stylegan2 import StyleGAN2Objective

        return {"r3gan": cls, "stylegan2": StyleGAN2Objective}[cfg["loss"].get("phases", "r3gan")]

    def phases(self) -> list[Phase]:
        g_ratio, d_ratio = self.ratios()
        return [Phase("D", "D", lr_ratio=d_ratio), Phase("G", "G", lr_ratio=g_ratio)]

    def run_G(self, z, c) -> tuple[torch.Tensor, torch.Tensor | None]:
        return generate(self.nets.G, z, c, self.loss["style_mixing"])

    def make_batch(self, step: int, images_seen: int, sched: dict) -> dict:
        d, g = (s.batch(images_seen) for s in self.stream)
        z_d, z_g = self.latents(), self.latents()
        return {
            "real_d": d["images"], "c_d": d["labels"] if self.conditional else None, "z_d": z_d,
            "real_g": g["images"], "c_g": g["labels"] if self.conditional else None, "z_g": z_g,
            "step": step,
        }

    def accumulate_gradients(self, phase: str, batch: dict, sched: dict, gain: float) -> dict[str, float]:
        if phase == "D":
            return self._d_phase(batch, sched, gain)
        if phase == "G":
            stats = self._g_phase(batch, sched, gain)
            if self.use_pl and batch["step"] % PL_INTERVAL == 0:
                stats.update(self._pl_phase(batch, gain))
            return stats
        raise ValueError(f"unknown phase {phase!r} for the r3gan objective")

    def _d_phase(self, b: dict, sched: dict, gain: float) -> dict[str, float]:
        loss_cfg = self.loss
        apply_reg = b["step"] % loss_cfg["reg_interval"] == 0
        with torch.no_grad():
            fake, _ = self.run_G(b["z_d"], b["c_d"])
        real = b["real_d"].detach().requires_grad_(True)
        fake = fake.detach().float().requires_grad_(True)
        real_logits, fake_logits = self.run_D_pair(real, fake, b["c_d"], sched["aug_p"])
        adv = d_loss(loss_cfg["objective"], real_logits, fake_logits).mean()
        r1_on = loss_cfg["r1"] and apply_reg
        r2_on = loss_cfg["r2"] and apply_reg
        if r1_on == r2_on:  # one input-gradient pass for both norms
            r1_sq, r2_sq = pair_gradient_sq_norm(real_logits, fake_logits, real, fake, create_graph=r1_on)
        else:  # only one penalty on: no double-backward graph for the other (Table 1's R1-only rows)
            r1_sq = gradient_sq_norm(real_logits, real, create_graph=r1_on)
            r2_sq = gradient_sq_norm(fake_logits, fake, create_graph=r2_on)
        penalty = torch.zeros([])
        if r1_on:
            penalty = penalty + r1_sq.mean()
        if r2_on:
            penalty = penalty + r2_sq.mean()
        reg_weight = sched["gamma"] / 2 * loss_cfg["reg_interval"]  # lazy regularisation scales the penalty up
        total = adv + reg_weight * penalty
        # D's parameters only: the images' own gradients are not needed
        torch.autograd.backward(total * gain, inputs=[p for p in self.nets.D.parameters() if p.requires_grad])
        return {
            "loss_d": adv.item(), "loss_d_reg": (reg_weight * penalty).item(),
            "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(),
            "grad_sq_real": r1_sq.mean().item(), "grad_sq_fake": r2_sq.mean().item(),
        }

    def _g_phase(self, b: dict, sched: dict, gain: float) -> dict[str, float]:
        objective = self.loss["objective"]
        fake, _ = self.run_G(b["z_g"], b["c_g"])
        fake_logits = self.run_D(fake.float(), b["c_g"], sched["aug_p"])
        real_logits = None
        if objective == "rpgan":
            with torch.no_grad():
                real_logits = self.run_D(b["real_g"], b["c_g"], sched["aug_p"])
        loss = g_loss(objective, fake_logits, real_logits).mean()
        (loss * gain).backward()
        return {"loss_g": loss.item()}

    def _pl_phase(self, b: dict, gain: float) -> dict[str, float]:
        """Lazy path length on half of phase G's latents, without mixing, scaled by the interval."""
        G, z, c = self.nets.G, b["z_g"], b["c_g"]
        n = max(1, z.shape[0] // 2)
        ws = G.mapping(z[:n], None if c is None else c[:n])
        images = G.synthesis(ws)
        loss = self.path_length(images, ws).mean() * self.loss["pl_weight"] * PL_INTERVAL
        (loss * gain + images[:, 0, 0, 0].sum() * 0).backward()
        return {"loss_g_pl": loss.item()}
