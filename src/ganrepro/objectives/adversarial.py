"""The passes R3GAN's and stylegan2-ada's step structures share (stylegan2-ada's ``StyleGAN2Loss`` is the model).

``AdversarialObjective`` holds what both structures own: the loss settings, the real-image stream(s),
the path-length mean, D's pass (``run_D``: augment, then D under the run's autocast) and the
path-length pass. A subclass adds its ``run_G`` (how fakes are drawn, style mixing included), its
batch and its phases: ``r3gan.R3GANObjective`` (D then G, penalties inside) and
``stylegan2.StyleGAN2Objective`` (Gmain, Greg, Dmain, Dreg). ``loss.phases`` in params picks one.
"""

from __future__ import annotations

import torch

from ..data import BatchStream
from ..losses import path_length_penalty
from .base import Nets, Objective, lazy_ratio

PL_INTERVAL = 4  # StyleGAN2's lazy path-length regularisation interval


def has_mapping(G: torch.nn.Module) -> bool:
    """Whether G is a StyleGAN2-style generator with mapping + synthesis (style mixing, path length)."""
    return bool(getattr(G, "style_mixing_capable", False))


class AdversarialObjective(Objective):
    """Shared state and passes; ``streams`` real-image streams seeded seed, seed + 1, ..."""

    streams = 1

    def __init__(self, cfg: dict, nets: Nets, archive, device: torch.device):
        super().__init__(cfg, nets, archive, device)
        self.loss = cfg["loss"]
        seed, batch, xflip = cfg["seed"], cfg["train"]["batch"], cfg["xflip"]
        self.stream = [BatchStream(archive, seed=seed + i, batch_size=batch, xflip=xflip, device=device)
                       for i in range(self.streams)]
        self.conditional = cfg["dataset"]["num_classes"] > 0
        self.use_pl = self.loss["pl_weight"] > 0 and has_mapping(nets.G)
        self.pl_mean = torch.zeros([])

    def ratios(self) -> tuple[float, float]:
        """(G's, D's) lazy-regularisation optimiser correction: path length every PL_INTERVAL, R1/R2 every reg_interval."""
        return (lazy_ratio(PL_INTERVAL) if self.use_pl else 1.0), lazy_ratio(self.loss["reg_interval"])

    def latents(self) -> torch.Tensor:
        return torch.randn([self.cfg["train"]["batch"], self.nets.G.z_dim]).to(self.device)

    def run_D(self, images: torch.Tensor, c: torch.Tensor | None, aug_p: float) -> torch.Tensor:
        """D's logits (float) on augmented images, under the run's autocast."""
        with self.autocast():
            return self.nets.D(self.nets.augment(images, aug_p), c).float()

    def run_D_pair(self, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None,
                   aug_p: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``(run_D(real), run_D(fake))``; one D pass over both batches when D treats samples independently
        (``D.per_sample``: no minibatch statistics), each batch augmented on its own as before."""
        if not getattr(self.nets.D, "per_sample", False):
            return self.run_D(real, c, aug_p), self.run_D(fake, c, aug_p)
        images = torch.cat([self.nets.augment(real, aug_p), self.nets.augment(fake, aug_p)])
        with self.autocast():
            logits = self.nets.D(images, None if c is None else torch.cat([c, c])).float()
        return logits[: real.shape[0]], logits[real.shape[0]:]

    def path_length(self, images: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        """StyleGAN2's per-sample path-length penalty; updates the running mean."""
        penalty, self.pl_mean = path_length_penalty(images, ws, self.pl_mean.to(images.device))
        return penalty

    def state_dict(self) -> dict:
        return {"pl_mean": self.pl_mean.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.pl_mean = state.get("pl_mean", torch.zeros([]))
