"""The ``inr_multistage`` objective: the four training schemes of Lee et al. 2022 behind the one loop.

Params (``loss.inr`` block of an experiment -- under ``loss`` because the resolved run config carries
``loss`` verbatim, so the scheme and stage are part of the run's identity -- all optional except ``scheme``):
  scheme: image | patch | multistage | accumulation     stage: 1..3 (multistage only)
  patch_divisor: 4        real_resize: area | subsample   patch_weight: 1.0 (lambda of L_patch)
  patch_resize: subsample | area | bilinear              teacher_noise: none | random
  teacher_from: G | G_ema (which network of the previous stage's network.pt is the frozen teacher)
``accumulation`` is ``image`` whose micro-batches the loop makes (``train.batch_gpu`` < ``train.batch``).

Phases (CIPS): D (non-saturating logistic loss on fakes and real patches at the same coordinates),
Dreg (lazy R1 on real RGB every ``loss.reg_interval`` = 16 steps, gamma ``sched["gamma"]``: 10 at 256 px), G (adversarial + ``patch_weight`` * L_patch against the frozen teacher in
``nets.extra["teacher"]`` for multistage stages >= 2). ``sample`` renders the dense full grid.
"""

from __future__ import annotations

import torch

from ganrepro.data import BatchStream
from ganrepro.errors import ConfigError
from ganrepro.objectives import register
from ganrepro.objectives.base import Nets, Objective, Phase, lazy_ratio

from .stages import PATCH_DIVISOR, frozen_copy, stage_plan
from .step import d_loss, g_loss, make_step_batch, r1_loss

DEFAULTS = {"scheme": None, "stage": 1, "patch_divisor": PATCH_DIVISOR, "real_resize": "area",
            "patch_weight": 1.0, "patch_resize": "subsample", "teacher_noise": "none", "teacher_from": "G"}


def inr_options(cfg: dict) -> dict:
    opts = {**DEFAULTS, **cfg.get("loss", {}).get("inr", {})}
    unknown = sorted(set(opts) - set(DEFAULTS))
    if unknown or opts["scheme"] is None:
        raise ConfigError(f"experiment {cfg.get('experiment')!r}: the 'loss.inr' block needs 'scheme' and knows only "
                          f"{sorted(DEFAULTS)}; got unknown keys {unknown}")
    return opts


def load_teacher(G: torch.nn.Module, network_path: str, which: str = "G") -> torch.nn.Module:
    """A frozen copy of the previous stage's ``which`` network (from its network.pt), on G's device."""
    payload = torch.load(network_path, map_location="cpu", weights_only=False)
    if which not in payload:
        raise ConfigError(f"{network_path}: holds no {which!r} network (keys {sorted(payload)}); "
                          f"set inr.teacher_from to G or G_ema")
    teacher = frozen_copy(G)
    teacher.load_state_dict(payload[which])
    return teacher


@register("inr_multistage")
class INRMultistageObjective(Objective):
    def __init__(self, cfg: dict, nets: Nets, archive, device: torch.device):
        super().__init__(cfg, nets, archive, device)
        self.opts = inr_options(cfg)
        scheme = "image" if self.opts["scheme"] == "accumulation" else self.opts["scheme"]
        try:
            self.plan = stage_plan(scheme, int(self.opts["stage"]), archive.resolution,
                                   patch_divisor=self.opts["patch_divisor"])
        except ValueError as exc:
            raise ConfigError(f"experiment {cfg.get('experiment')!r}, inr block: {exc}") from None
        if getattr(nets.D, "img_resolution", self.plan.d_resolution) != self.plan.d_resolution:
            raise ConfigError(f"D is built at {nets.D.img_resolution}px but scheme {scheme} stage "
                              f"{self.plan.stage} shows it {self.plan.d_resolution}px: set model.d_input")
        self.teacher_plan = None
        if self.plan.teacher_stage is not None:
            self.teacher_plan = stage_plan(scheme, self.plan.teacher_stage, archive.resolution,
                                           patch_divisor=self.opts["patch_divisor"])
            if "teacher" not in nets.extra:
                init = (cfg.get("init_from") or {}).get("network")
                if not init:
                    raise ConfigError(f"experiment {cfg.get('experiment')!r}: multistage stage {self.plan.stage} "
                                      f"needs the previous stage's network under init_from.network")
                nets.extra["teacher"] = load_teacher(nets.G, init, self.opts["teacher_from"]).to(device)
        self.reg_interval = int(cfg["loss"]["reg_interval"])
        self.g_reg_every = int(cfg["loss"].get("g_reg_every", 0))  # 0: no correction of G's Adam
        self.stream = BatchStream(archive, seed=cfg["seed"], batch_size=cfg["train"]["batch"],
                                  xflip=bool(cfg.get("xflip", True)), device=device)

    def phases(self) -> list[Phase]:
        ratio = lazy_ratio(self.reg_interval)
        # official CIPS: G's Adam also takes g_reg_every / (g_reg_every + 1) (lr 0.0016, beta2 0.99^0.8)
        return [Phase("D", "D", lr_ratio=ratio), Phase("Dreg", "D", interval=self.reg_interval, lr_ratio=ratio),
                Phase("G", "G", lr_ratio=lazy_ratio(self.g_reg_every))]

    def make_batch(self, step: int, images_seen: int, sched: dict) -> dict:
        reals = self.stream.batch(images_seen)["images"]
        batch = make_step_batch(self.plan, reals, self.nets.G.z_dim, teacher_plan=self.teacher_plan,
                                real_resize=self.opts["real_resize"])
        return {**batch, "step": step}

    def accumulate_gradients(self, phase: str, batch: dict, sched: dict, gain: float) -> dict[str, float]:
        nets = self.nets
        if phase == "D":
            loss, stats = d_loss(nets.G, nets.D, batch)
        elif phase == "Dreg":
            loss, stats = r1_loss(nets.D, batch, float(sched["gamma"]))
            loss = loss * self.reg_interval
            stats = {"loss_d_r1": float(loss.detach()), "grad_sq_real": stats["r1"]}
        elif phase == "G":
            loss, stats = g_loss(nets.G, nets.D, batch, teacher=nets.extra.get("teacher"),
                                 patch_weight=float(self.opts["patch_weight"]), patch_resize=self.opts["patch_resize"],
                                 teacher_noise=self.opts["teacher_noise"])
        else:
            raise ValueError(f"unknown phase {phase!r} for the inr_multistage objective")
        (loss * gain).backward()
        return stats

    @torch.no_grad()
    def sample(self, G: torch.nn.Module, z: torch.Tensor, c: torch.Tensor | None = None, **kw) -> torch.Tensor:
        """Full images on the dense grid N = H (``coords=`` in kw renders other coordinates, e.g. Fig. 4)."""
        return G(z, coords=kw.get("coords"), noise_mode=kw.get("noise_mode", "random"))
