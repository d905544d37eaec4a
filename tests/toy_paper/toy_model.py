"""The toy paper's own model family and stand-in dataset, registered from this file alone.

`toy_mlp`: a two-layer MLP generator and discriminator on flattened images. `toy_rings`: one coloured
ring per image on a dark ground. Nothing in src/ names either: the toy's params file lists this module
under `modules:` and declares its dataset under `datasets:`.
"""

from __future__ import annotations

import numpy as np

from ganrepro.data.embedded import Generated
from ganrepro.models.registry import register_family, scaled_width
from ganrepro.standins import register_generator

DEFAULTS = {"z_dim": 16, "hidden": 256}


def build(arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    from torch import nn

    del num_classes  # unconditional
    shape = (img_channels, resolution, resolution)
    size = img_channels * resolution * resolution
    z_dim, hidden = int(arch["z_dim"]), int(arch["hidden"])

    class ToyG(nn.Module):
        def __init__(self):
            super().__init__()
            self.z_dim = z_dim
            self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, size), nn.Tanh())

        def forward(self, z, c=None):
            return self.net(z).view(-1, *shape)

    class ToyD(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(size, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

        def forward(self, x, c=None):
            return self.net(x).squeeze(1)

    return ToyG(), ToyD()  # torch is imported in here: resolving a run never imports it


def scale_knobs(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    del resolution, paper_resolution
    m = {**DEFAULTS, **model}
    m["hidden"] = scaled_width(m["hidden"], scale)
    return m


def make_rings(*, count: int, resolution: int, seed: int, num_classes: int = 0) -> Generated:
    """``count`` RGB rings uint8 [N, 3, R, R]: random centre, radius and colour on a dark ground."""
    rng = np.random.default_rng([seed, 0x7077])
    yy, xx = np.mgrid[0:resolution, 0:resolution] / max(resolution - 1, 1)
    centre = rng.uniform(0.35, 0.65, size=(count, 2))
    radius = rng.uniform(0.15, 0.3, size=count)
    colour = rng.uniform(80, 255, size=(count, 3))
    dist = np.hypot(yy[None] - centre[:, 0, None, None], xx[None] - centre[:, 1, None, None])
    ring = np.abs(dist - radius[:, None, None]) < 0.06
    images = np.full((count, 3, resolution, resolution), 16, dtype=np.uint8)
    for ch in range(3):
        images[:, ch][ring] = np.repeat(colour[:, ch], ring.reshape(count, -1).sum(1)).astype(np.uint8)
    return Generated(images=images, labels=None, num_classes=0, meta={"generator": "toy_rings"})


register_family("toy_mlp", build=build, scale_knobs=scale_knobs)
register_generator("toy_rings", make_rings)
