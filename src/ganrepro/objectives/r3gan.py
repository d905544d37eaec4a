"""R3GAN's objective (and StyleGAN2 config A's): the worked example of the seam.

D phase: D sees an augmented real batch and an augmented batch of fakes; its loss is the adversarial
objective (RpGAN or the non-saturating GAN) plus gamma / 2 * (R1 + R2), R1/R2 the squared
input-gradient norms on reals/fakes taken w.r.t. the un-augmented images. Both norms are measured
every step (for the stats and the divergence guard) even when a penalty is off or lazy.
G phase: a fresh z and, for RpGAN, a fresh paired real batch.
Generators with a StyleGAN2 mapping network (``G.style_mixing_capable``) get style mixing and, when
``loss.pl_weight > 0``, lazy path-length regularisation every ``PL_INTERVAL`` steps.

``loss.phases`` picks the step structure:

* ``r3gan`` (R3GAN's official trainer): D then G every step, each with its own real batch and z;
  penalties inside the D phase (a lazy ``reg_interval`` > 1 scales them up on regularisation steps);
  path length inside the G phase.
* ``stylegan2`` (stylegan2-ada-pytorch's ``training_loop.py``/``loss.py``, config A): phases Gmain,
  Greg (path length, every 4 steps), Dmain, Dreg (R1, every ``reg_interval`` steps), each its own
  optimiser step with the lr/beta correction of a lazy regulariser; every phase draws its own latents;
  style mixing as the official ``run_G`` (the mixing call does not update G's w average); the
  path-length step draws fresh latents for half a batch, with mixing.
"""

from __future__ import annotations

import random

import torch

from ..data import BatchStream
from ..losses import d_loss, g_loss, gradient_sq_norm, path_length_penalty
from .base import Nets, Objective, Phase

PL_INTERVAL = 4  # StyleGAN2's lazy path-length regularisation interval


def lazy_ratio(interval: int) -> float:
    """Optimiser correction for a regulariser applied every `interval` steps (StyleGAN2)."""
    return interval / (interval + 1) if interval > 1 else 1.0


def has_mapping(G: torch.nn.Module) -> bool:
    """Whether G is a StyleGAN2-style generator with mapping + synthesis (style mixing, path length)."""
    return bool(getattr(G, "style_mixing_capable", False))


def generate(G, z, c, style_mixing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fakes, with StyleGAN2 style mixing when G has a mapping network. Returns (images, ws or None)."""
    if not has_mapping(G):
        return G(z, c), None
    ws = G.mapping(z, c)
    if style_mixing > 0 and random.random() < style_mixing:
        cutoff = random.randint(1, ws.shape[1] - 1) if ws.shape[1] > 1 else 1
        ws2 = G.mapping(torch.randn_like(z), c)
        ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return G.synthesis(ws), ws


class R3GANObjective(Objective):
    name = "r3gan"

    def __init__(self, cfg: dict, nets: Nets, archive, device: torch.device):
        super().__init__(cfg, nets, archive, device)
        self.loss = cfg["loss"]
        seed, batch, xflip = cfg["seed"], cfg["train"]["batch"], cfg["xflip"]
        self.stream_d = BatchStream(archive, seed=seed, batch_size=batch, xflip=xflip, device=device)
        self.stream_g = BatchStream(archive, seed=seed + 1, batch_size=batch, xflip=xflip, device=device)
        self.conditional = cfg["dataset"]["num_classes"] > 0
        self.use_pl = self.loss["pl_weight"] > 0 and has_mapping(nets.G)
        self.pl_mean = torch.zeros([])

    @property
    def official_sg2(self) -> bool:
        return self.loss.get("phases", "r3gan") == "stylegan2"

    def phases(self) -> list[Phase]:
        d_ratio = lazy_ratio(self.loss["reg_interval"])
        g_ratio = lazy_ratio(PL_INTERVAL) if self.use_pl else 1.0
        if self.official_sg2:
            phases = [Phase("Gmain", "G", lr_ratio=g_ratio)]
            if self.use_pl:
                phases.append(Phase("Greg", "G", interval=PL_INTERVAL, lr_ratio=g_ratio))
            phases.append(Phase("Dmain", "D", lr_ratio=d_ratio))
            if self.loss["r1"] or self.loss["r2"]:
                phases.append(Phase("Dreg", "D", interval=self.loss["reg_interval"], lr_ratio=d_ratio))
            return phases
        return [Phase("D", "D", lr_ratio=d_ratio), Phase("G", "G", lr_ratio=g_ratio)]

    def make_batch(self, step: int, images_seen: int, sched: dict) -> dict:
        if self.official_sg2:
            return self._sg2_batch(step, images_seen)
        d = self.stream_d.batch(images_seen)
        g = self.stream_g.batch(images_seen)
        batch = self.cfg["train"]["batch"]
        z_dim = self.nets.G.z_dim
        z_d = torch.randn([batch, z_dim]).to(self.device)
        z_g = torch.randn([batch, z_dim]).to(self.device)
        return {
            "real_d": d["images"], "c_d": d["labels"] if self.conditional else None, "z_d": z_d,
            "real_g": g["images"], "c_g": g["labels"] if self.conditional else None, "z_g": z_g,
            "step": step,
        }

    def accumulate_gradients(self, phase: str, batch: dict, sched: dict, gain: float) -> dict[str, float]:
        if self.official_sg2:
            return self._sg2_phase(phase, batch, sched, gain)
        if phase == "D":
            return self._d_phase(batch, sched, gain)
        if phase == "G":
            stats = self._g_phase(batch, sched, gain)
            if self.use_pl and batch["step"] % PL_INTERVAL == 0:
                stats.update(self._pl_phase(batch, gain))
            return stats
        raise ValueError(f"unknown phase {phase!r} for the r3gan objective")

    def _d_phase(self, b: dict, sched: dict, gain: float) -> dict[str, float]:
        nets, loss_cfg = self.nets, self.loss
        apply_reg = b["step"] % loss_cfg["reg_interval"] == 0
        with torch.no_grad():
            fake, _ = generate(nets.G, b["z_d"], b["c_d"], loss_cfg["style_mixing"])
        real = b["real_d"].detach().requires_grad_(True)
        fake = fake.detach().float().requires_grad_(True)
        with self.autocast():
            real_logits = nets.D(nets.augment(real, sched["aug_p"]), b["c_d"]).float()
            fake_logits = nets.D(nets.augment(fake, sched["aug_p"]), b["c_d"]).float()
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
        reg_weight = sched["gamma"] / 2 * loss_cfg["reg_interval"]  # lazy regularisation scales the penalty up
        total = adv + reg_weight * penalty
        (total * gain).backward()
        return {
            "loss_d": adv.item(), "loss_d_reg": (reg_weight * penalty).item(),
            "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(),
            "grad_sq_real": r1_sq.mean().item(), "grad_sq_fake": r2_sq.mean().item(),
        }

    def _g_phase(self, b: dict, sched: dict, gain: float) -> dict[str, float]:
        nets, loss_cfg = self.nets, self.loss
        fake, _ = generate(nets.G, b["z_g"], b["c_g"], loss_cfg["style_mixing"])
        with self.autocast():
            fake_logits = nets.D(nets.augment(fake.float(), sched["aug_p"]), b["c_g"]).float()
            real_logits = None
            if loss_cfg["objective"] == "rpgan":
                with torch.no_grad():
                    real_logits = nets.D(nets.augment(b["real_g"], sched["aug_p"]), b["c_g"]).float()
        loss = g_loss(loss_cfg["objective"], fake_logits, real_logits).mean()
        (loss * gain).backward()
        return {"loss_g": loss.item()}

    def _pl_phase(self, b: dict, gain: float) -> dict[str, float]:
        """StyleGAN2 lazy path-length regularisation on half a batch (config A only)."""
        nets, z, c = self.nets, b["z_g"], b["c_g"]
        n = max(1, z.shape[0] // 2)
        ws = nets.G.mapping(z[:n], None if c is None else c[:n])
        images = nets.G.synthesis(ws)
        penalty, self.pl_mean = path_length_penalty(images, ws, self.pl_mean.to(z.device))
        loss = penalty.mean() * self.loss["pl_weight"] * PL_INTERVAL
        (loss * gain + images[:, 0, 0, 0].sum() * 0).backward()
        return {"loss_g_pl": loss.item()}

    # --- stylegan2-ada's phases (config A) -------------------------------------------------------------
    def _sg2_batch(self, step: int, images_seen: int) -> dict:
        real = self.stream_d.batch(images_seen)
        batch, z_dim = self.cfg["train"]["batch"], self.nets.G.z_dim
        c = real["labels"] if self.conditional else None
        z = {name: torch.randn([batch, z_dim]).to(self.device) for name in ("Gmain", "Greg", "Dmain")}
        return {"real": real["images"], "c": c, **{f"z_{k}": v for k, v in z.items()}, "step": step}

    def _sg2_generate(self, z, c):
        """stylegan2-ada's run_G: mixing with probability p at a random cutoff; w_avg from the main call only."""
        G, prob = self.nets.G, self.loss["style_mixing"]
        ws = G.mapping(z, c)
        if prob > 0:
            cutoff = torch.empty([], dtype=torch.int64).random_(1, ws.shape[1]) if ws.shape[1] > 1 else torch.tensor(1)
            cutoff = int(torch.where(torch.rand([]) < prob, cutoff, torch.full_like(cutoff, ws.shape[1])))
            mixed = G.mapping(torch.randn_like(z), c, update_w_avg=False)
            ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return G.synthesis(ws), ws

    def _sg2_phase(self, phase: str, b: dict, sched: dict, gain: float) -> dict[str, float]:
        nets, aug_p, c = self.nets, sched["aug_p"], b["c"]
        if phase == "Gmain":
            fake, _ = self._sg2_generate(b["z_Gmain"], c)
            with self.autocast():
                logits = nets.D(nets.augment(fake.float(), aug_p), c).float()
            loss = g_loss("nsgan", logits).mean()
            (loss * gain).backward()
            return {"loss_g": loss.item()}
        if phase == "Greg":  # official: half a batch of fresh latents, mixing on, gain = interval
            n = max(1, b["z_Greg"].shape[0] // 2)
            images, ws = self._sg2_generate(b["z_Greg"][:n], None if c is None else c[:n])
            penalty, self.pl_mean = path_length_penalty(images, ws, self.pl_mean.to(images.device))
            loss = penalty.mean() * self.loss["pl_weight"]
            ((loss + images[:, 0, 0, 0].sum() * 0) * PL_INTERVAL * gain).backward()
            return {"loss_g_pl": loss.item()}
        if phase == "Dmain":
            with torch.no_grad():
                fake, _ = self._sg2_generate(b["z_Dmain"], c)
            fake = fake.detach().float().requires_grad_(True)
            real = b["real"].detach()
            with self.autocast():
                fake_logits = nets.D(nets.augment(fake, aug_p), c).float()
                real_logits = nets.D(nets.augment(real, aug_p), c).float()
            loss = d_loss("nsgan", real_logits, fake_logits).mean()
            r2_sq = gradient_sq_norm(fake_logits, fake, create_graph=False)  # the guard's signal, not applied
            (loss * gain).backward()
            return {"loss_d": loss.item(), "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(),
                    "grad_sq_fake": r2_sq.mean().item()}
        if phase == "Dreg":  # R1 (official config A has no R2) with gain = interval
            real = b["real"].detach().requires_grad_(True)
            with self.autocast():
                real_logits = nets.D(nets.augment(real, aug_p), c).float()
            r1_sq = gradient_sq_norm(real_logits, real, create_graph=True)
            penalty = r1_sq.mean() * (sched["gamma"] / 2)
            ((penalty + real_logits.sum() * 0) * self.loss["reg_interval"] * gain).backward()
            return {"loss_d_reg": penalty.item() * self.loss["reg_interval"], "grad_sq_real": r1_sq.mean().item()}
        raise ValueError(f"unknown phase {phase!r} for stylegan2-ada's step structure")

    def guard_values(self, stats: dict) -> tuple[dict[str, float], float | None]:
        """Every loss this step computed must be finite; D's gradient norm on fakes is the Fail signal."""
        return {k: v for k, v in stats.items() if k.startswith("loss_")}, stats.get("grad_sq_fake")

    def state_dict(self) -> dict:
        return {"pl_mean": self.pl_mean.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.pl_mean = state.get("pl_mean", torch.zeros([]))

