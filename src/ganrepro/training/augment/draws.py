"""The random source of one augmentation forward pass."""

from __future__ import annotations

import torch


class Draws:
    """Random draws for ``n`` samples from one ``generator`` on one ``device``.

    Every random number of a forward pass comes from here, in the order the transform groups ask
    for them (blit, geometric, colour, cutout), so a seeded generator fixes the whole pass.
    """

    def __init__(self, n: int, generator: torch.Generator | None, device: torch.device):
        self.n = int(n)
        self.generator = generator
        self.device = device

    def rand(self, *shape: int) -> torch.Tensor:
        """Uniform in [0, 1)."""
        return torch.rand(shape, generator=self.generator, device=self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal."""
        return torch.randn(shape, generator=self.generator, device=self.device)

    def gate(self, prob: float) -> torch.Tensor:
        """bool ``[n]``: each sample passes independently with probability ``prob``."""
        return self.rand(self.n) < prob

    def zeros(self) -> torch.Tensor:
        return torch.zeros(self.n, device=self.device)

    def ones(self) -> torch.Tensor:
        return torch.ones(self.n, device=self.device)
