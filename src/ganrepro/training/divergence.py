"""Divergence guard: a non-finite loss or an exploding discriminator gradient ends a run as a Fail.

R3GAN's Table 1 reports "Fail" when training diverges early; the paper observes that the gradient of D
on fake samples explodes when it does. The guard watches the squared input-gradient norm of D on fakes
(the R2 quantity, measured even when R2 is not applied) and declares divergence after `patience`
consecutive steps above `grad_norm_max`, or at once on a non-finite loss.
"""

from __future__ import annotations

import math

from ..errors import TrainingDiverged


class DivergenceGuard:
    def __init__(self, grad_norm_max: float, patience: int):
        self.grad_norm_max = grad_norm_max
        self.patience = patience
        self.strikes = 0

    def check(self, *, step: int, kimg: float, losses: dict, fake_grad_sq: float | None) -> None:
        """Raise TrainingDiverged; `fake_grad_sq` None: the objective does not measure it (losses only)."""
        for name, value in losses.items():
            if not math.isfinite(value):
                raise TrainingDiverged(f"non-finite {name} ({value})", step, kimg)
        if fake_grad_sq is None:
            return
        if not math.isfinite(fake_grad_sq):
            raise TrainingDiverged("non-finite gradient of D on fakes", step, kimg)
        self.strikes = self.strikes + 1 if fake_grad_sq > self.grad_norm_max else 0
        if self.strikes >= self.patience:
            raise TrainingDiverged(
                f"gradient of D on fakes exploded: ||grad D(fake)||^2 = {fake_grad_sq:.3g} > "
                f"{self.grad_norm_max:.3g} for {self.patience} consecutive steps",
                step,
                kimg,
            )

    def state_dict(self) -> dict:
        return {"strikes": self.strikes}

    def load_state_dict(self, state: dict) -> None:
        self.strikes = int(state.get("strikes", 0))
