"""Scheduler hooks behind no-op defaults (edm2 style): the loop asks, a scheduler may answer.

A cluster launcher (SLURM signal handler, submitit checkpointing, a wall-time slice) subclasses
`Hooks`; local runs use the defaults and never stop early.
"""

from __future__ import annotations

import signal
import time


class Hooks:
    def should_stop(self) -> bool:
        """Return True to save the training state and leave the loop (the run resumes on re-run)."""
        return False

    def on_tick(self, stats: dict) -> None:
        """Called after every tick with the stats line that was written."""


class SignalAndWallTimeHooks(Hooks):
    """Stop cleanly on SIGTERM/SIGUSR1/SIGUSR2 (preemption, time limit) or after `max_minutes`."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)

    def __init__(self, max_minutes: float | None = None):
        self.deadline = time.monotonic() + max_minutes * 60 if max_minutes else None
        self.signalled: int | None = None
        for sig in self.SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        self.signalled = signum

    def should_stop(self) -> bool:
        if self.signalled is not None:
            return True
        return self.deadline is not None and time.monotonic() > self.deadline
