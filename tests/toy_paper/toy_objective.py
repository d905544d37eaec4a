"""A toy second paper, as a plug-in module: a plain non-saturating GAN with no penalties.

Registered from this file alone (the params file lists it under `modules:`); nothing in src/ names it.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ganrepro.data import BatchStream
from ganrepro.objectives import Objective, Phase, register
from ganrepro.papers import register_paper


@register("toy")
class ToyObjective(Objective):
    def __init__(self, cfg, nets, archive, device):
        super().__init__(cfg, nets, archive, device)
        self.stream = BatchStream(archive, seed=cfg["seed"], batch_size=cfg["train"]["batch"], device=device)
        self.d_steps = 0

    def phases(self):
        return [Phase("D", "D"), Phase("G", "G")]

    def make_batch(self, step, images_seen, sched):
        real = self.stream.batch(images_seen)["images"]
        return {"real": real, "z": torch.randn([real.shape[0], self.nets.G.z_dim])}

    def accumulate_gradients(self, phase, batch, sched, gain):
        fake = self.nets.G(batch["z"], None)
        if phase == "D":
            loss = F.softplus(self.nets.D(fake.detach(), None)).mean() + F.softplus(-self.nets.D(batch["real"], None)).mean()
            self.d_steps += 1
        else:
            loss = F.softplus(-self.nets.D(fake, None)).mean()
        (loss * gain).backward()
        return {f"loss_{phase.lower()}": loss.item()}

    def state_dict(self):
        return {"d_steps": self.d_steps}

    def load_state_dict(self, state):
        self.d_steps = state.get("d_steps", 0)


def toy_figure(paper: str, scale: str, out: Path) -> Path:
    path = Path(out) / paper / "toy_fig.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
    return path


register_paper("toy", figures={"toy_fig": toy_figure})
