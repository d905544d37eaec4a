"""The seam between the one training loop and a paper: what a training step computes.

Modelled on stylegan2-ada's loss object. The loop (``training/loop.py``) owns seeding, micro-batches,
data parallelism, optimisers, EMA, snapshots, the divergence guard and the scheduler hooks; an
``Objective`` owns everything that varies per paper:

* ``make_batch``: what one global batch is (reals, labels, latents, per-image arrays such as poses,
  patch parameters and real patches). Every tensor has the batch on dim 0, so the loop can give each
  process and micro-batch its slice. Randomness comes from torch's global RNG, which the loop seeds
  per step, so an interrupted and resumed run draws the same batches.
* ``phases``: which phases run, at which interval, and whose optimiser each one steps.
* ``accumulate_gradients(phase, batch, sched, gain)``: the losses of a phase on one micro-batch;
  ``gain`` divides the loss over micro-batches.
* ``state_dict``/``load_state_dict``: extra training state saved in ``state.pt``.
* ``sample``: how evaluation and sample grids draw full images from a generator.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch


def lazy_ratio(interval: int) -> float:
    """Optimiser correction for a regulariser applied every ``interval`` steps (StyleGAN2): lr * ratio, betas ** ratio."""
    return interval / (interval + 1) if interval > 1 else 1.0


@dataclass(frozen=True)
class Phase:
    name: str                 # "D", "Dreg", "G", "Greg", ...
    net: str                  # "G" or "D": the network trained (and whose optimiser steps) in this phase
    interval: int = 1         # runs when step % interval == 0
    lr_ratio: float = 1.0     # lazy-regularisation correction: lr * ratio, betas ** ratio


@dataclass
class Nets:
    """The networks and optimisers of a run. ``extra`` holds objective-owned modules (e.g. a teacher)."""
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module
    augment: torch.nn.Module
    opt: dict[str, torch.optim.Optimizer]
    extra: dict = field(default_factory=dict)

    def net(self, name: str) -> torch.nn.Module:
        return {"G": self.G, "D": self.D}[name]


def take(batch: dict, m: slice) -> dict:
    """The micro-batch ``m`` of a global batch dict (None and non-tensors pass through)."""
    return {k: (v[m] if torch.is_tensor(v) and v.dim() > 0 else v) for k, v in batch.items()}


class Objective:
    """Base class: no-op state, generator called as ``G(z, c)`` for sampling."""

    name = "base"

    def __init__(self, cfg: dict, nets: Nets, archive, device: torch.device):
        self.cfg, self.nets, self.archive, self.device = cfg, nets, archive, device

    def autocast(self):
        """bf16 autocast on CUDA for a bf16 run whose networks do not cast per stage themselves.

        Networks with ``reduced_precision_stages`` (the official R3GAN/StyleGAN2 scheme: only the
        highest resolutions in reduced precision) need no autocast, which would cast every stage.
        """
        if self.cfg.get("model", {}).get("reduced_precision_stages"):
            return contextlib.nullcontext()
        if self.device.type == "cuda" and self.cfg["train"]["mixed_precision"] == "bf16":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @classmethod
    def for_config(cls, cfg: dict) -> type[Objective]:
        """The class that trains ``cfg``: ``cls`` itself unless one registered name has several step structures."""
        del cfg
        return cls

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def make_batch(self, step: int, images_seen: int, sched: dict) -> dict:
        raise NotImplementedError

    def accumulate_gradients(self, phase: str, batch: dict, sched: dict, gain: float) -> dict[str, float]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        del state

    def guard_values(self, stats: dict) -> tuple[dict[str, float], float | None]:
        """(losses that must stay finite, D's squared gradient norm on fakes or None) for the guard."""
        return {k: v for k, v in stats.items() if k.startswith("loss_")}, stats.get("grad_sq_fake")

    @classmethod
    @torch.no_grad()
    def sample(cls, cfg: dict, G: torch.nn.Module, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Full images [N, C, H, W] for evaluation and sample grids (a class method: needs no training state)."""
        return G(z, c)
