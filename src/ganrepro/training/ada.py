"""ADA's adaptive augmentation probability (Karras et al. 2020; stylegan2-ada-pytorch training_loop.py).

The overfitting heuristic r_t = E[sign(D(real))] is averaged over ``interval`` steps; then p moves by
sign(r_t - target) * batch * interval / (kimg * 1000) and is clipped below at 0 (not above, as the
official loop; the pipe reads min(p, 1)), so p can go from 0 to 1 in ``kimg`` thousand images. The objective reports the mean
sign of its real logits as ``ada_sign`` in its D phase; the loop averages it across processes, so
every rank holds the same p. The loop calls ``apply`` to put p into the step's schedule values
(``aug_p``, which the objective hands to the augmentation pipe) and ``observe`` after each step;
``state_dict`` goes into the resumable state, so a resumed run continues with the same p.
"""

from __future__ import annotations

import math

from ..errors import ConfigError

SIGN_KEY = "ada_sign"


class AdaptiveAugment:
    def __init__(self, *, target: float, interval: int, kimg: float, batch: int, p: float = 0.0):
        if interval < 1 or kimg <= 0:
            raise ConfigError(f"ada: interval must be >= 1 and kimg > 0, got {interval} and {kimg}")
        self.target, self.interval, self.kimg, self.batch = float(target), int(interval), float(kimg), int(batch)
        self.p = float(p)
        self._sum, self._count = 0.0, 0

    @classmethod
    def from_cfg(cls, cfg: dict) -> "AdaptiveAugment | None":
        """The run's controller, or None when ``ada`` is off (the loop then leaves ``aug_p`` to the schedule)."""
        ada = cfg.get("ada")
        if not ada:
            return None
        return cls(target=ada["target"], interval=ada["interval"], kimg=ada["kimg"], batch=cfg["train"]["batch"])

    @property
    def step_size(self) -> float:
        return self.batch * self.interval / (self.kimg * 1000.0)

    def apply(self, sched: dict) -> dict:
        """The step's schedule values with ``aug_p`` = p; p above 1 acts as 1 (every transform always
        applied, as the official pipe's ``u < p`` draws do) while the controller keeps the raw p."""
        return {**sched, "aug_p": min(self.p, 1.0)}

    def observe(self, step: int, values: dict) -> None:
        """Accumulate this step's ``ada_sign``; adjust p every ``interval`` steps (``step`` counts done steps)."""
        if SIGN_KEY in values:
            self._sum += float(values[SIGN_KEY])
            self._count += 1
        if step % self.interval:
            return
        if not self._count:
            raise ConfigError(f"ada is on, but the objective reported no {SIGN_KEY!r} in {self.interval} steps; "
                              "turn ada off for this experiment or report the real logits' mean sign in its D phase")
        r_t = self._sum / self._count
        if math.isfinite(r_t):
            self.p = max(self.p + math.copysign(self.step_size, r_t - self.target) * (r_t != self.target), 0.0)
        self._sum, self._count = 0.0, 0

    def state_dict(self) -> dict:
        return {"p": self.p, "sum": self._sum, "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        self.p = float(state.get("p", 0.0))
        self._sum, self._count = float(state.get("sum", 0.0)), int(state.get("count", 0))
