"""stylegan2-ada-pytorch's step structure (``training_loop.py``/``loss.py``): R3GAN's config A.

Selected by ``loss.phases: stylegan2`` under ``objective: r3gan`` (``R3GANObjective.for_config``).
Phases Gmain, Greg (path length, every ``PL_INTERVAL`` steps), Dmain, Dreg (R1, every
``reg_interval`` steps), each its own optimiser step with the lr/beta correction of a lazy
regulariser; every phase draws its own latents from one batch; one real batch per step. Style
mixing as the official ``run_G`` (torch's RNG; the mixing call does not update G's w average); the
path-length step draws fresh latents for half a batch, with mixing. D's loss is non-saturating; R2
is measured in Dmain (the divergence guard's signal) but not applied.
"""

from __future__ import annotations

import torch

from ..losses import d_loss, g_loss, gradient_sq_norm
from .adversarial import PL_INTERVAL, AdversarialObjective
from .base import Phase

PHASES_WITH_LATENTS = ("Gmain", "Greg", "Dmain")


class StyleGAN2Objective(AdversarialObjective):
    name = "r3gan"  # registered under R3GAN's name: ``loss.phases`` selects it

    def phases(self) -> list[Phase]:
        g_ratio, d_ratio = self.ratios()
        phases = [Phase("Gmain", "G", lr_ratio=g_ratio)]
        if self.use_pl:
            phases.append(Phase("Greg", "G", interval=PL_INTERVAL, lr_ratio=g_ratio))
        phases.append(Phase("Dmain", "D", lr_ratio=d_ratio))
        if self.loss["r1"] or self.loss["r2"]:
            phases.append(Phase("Dreg", "D", interval=self.loss["reg_interval"], lr_ratio=d_ratio))
        return phases

    def make_batch(self, step: int, images_seen: int, sched: dict) -> dict:
        real = self.stream[0].batch(images_seen)
        c = real["labels"] if self.conditional else None
        z = {name: self.latents() for name in PHASES_WITH_LATENTS}
        return {"real": real["images"], "c": c, **{f"z_{k}": v for k, v in z.items()}, "step": step}

    def run_G(self, z, c) -> tuple[torch.Tensor, torch.Tensor]:
        """stylegan2-ada's run_G: mixing with probability p at a random cutoff; w_avg from the main call only."""
        G, prob = self.nets.G, self.loss["style_mixing"]
        ws = G.mapping(z, c)
        if prob > 0:
            cutoff = torch.empty([], dtype=torch.int64).random_(1, ws.shape[1]) if ws.shape[1] > 1 else torch.tensor(1)
            cutoff = int(torch.where(torch.rand([]) < prob, cutoff, torch.full_like(cutoff, ws.shape[1])))
            mixed = G.mapping(torch.randn_like(z), c, update_w_avg=False)
            ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return G.synthesis(ws), ws

    def accumulate_gradients(self, phase: str, batch: dict, sched: dict, gain: float) -> dict[str, float]:
        passes = {"Gmain": self._g_main, "Greg": self._g_reg, "Dmain": self._d_main, "Dreg": self._d_reg}
        if phase not in passes:
            raise ValueError(f"unknown phase {phase!r} for stylegan2-ada's step structure")
        return passes[phase](batch, sched["aug_p"], sched, gain)

    def _g_main(self, b: dict, aug_p: float, sched: dict, gain: float) -> dict[str, float]:
        fake, _ = self.run_G(b["z_Gmain"], b["c"])
        loss = g_loss("nsgan", self.run_D(fake.float(), b["c"], aug_p)).mean()
        (loss * gain).backward()
        return {"loss_g": loss.item()}

    def _g_reg(self, b: dict, aug_p: float, sched: dict, gain: float) -> dict[str, float]:
        """Official: half a batch of fresh latents, mixing on, gain = interval."""
        c, n = b["c"], max(1, b["z_Greg"].shape[0] // 2)
        images, ws = self.run_G(b["z_Greg"][:n], None if c is None else c[:n])
        loss = self.path_length(images, ws).mean() * self.loss["pl_weight"]
        ((loss + images[:, 0, 0, 0].sum() * 0) * PL_INTERVAL * gain).backward()
        return {"loss_g_pl": loss.item()}

    def _d_main(self, b: dict, aug_p: float, sched: dict, gain: float) -> dict[str, float]:
        with torch.no_grad():
            fake, _ = self.run_G(b["z_Dmain"], b["c"])
        fake = fake.detach().float().requires_grad_(True)
        fake_logits = self.run_D(fake, b["c"], aug_p)
        real_logits = self.run_D(b["real"].detach(), b["c"], aug_p)
        loss = d_loss("nsgan", real_logits, fake_logits).mean()
        r2_sq = gradient_sq_norm(fake_logits, fake, create_graph=False)  # the guard's signal, not applied
        (loss * gain).backward()
        return {"loss_d": loss.item(), "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(),
                "grad_sq_fake": r2_sq.mean().item()}

    def _d_reg(self, b: dict, aug_p: float, sched: dict, gain: float) -> dict[str, float]:
        """R1 (official config A has no R2) with gain = interval."""
        interval = self.loss["reg_interval"]
        real = b["real"].detach().requires_grad_(True)
        real_logits = self.run_D(real, b["c"], aug_p)
        r1_sq = gradient_sq_norm(real_logits, real, create_graph=True)
        penalty = r1_sq.mean() * (sched["gamma"] / 2)
        ((penalty + real_logits.sum() * 0) * interval * gain).backward()
        return {"loss_d_reg": penalty.item() * interval, "grad_sq_real": r1_sq.mean().item()}
