"""Scheduler hooks behind no-op defaults (edm2 style): the loop asks, a scheduler may answer.

A cluster launcher (SLURM signal handler, submitit checkpointing, a wall-time slice) subclasses
`Hooks`; local runs use the defaults and never stop early.
"""

from __future__ import annotations

import signal
import sys
import time


class Hooks:
    def should_stop(self) -> bool:
        """Return True to save the training state and leave the loop (the run resumes on re-run)."""
        return False

    def on_tick(self, stats: dict) -> None:
        """Called after every tick with the stats line that was written."""


class SignalAndWallTimeHooks(Hooks):
    """Stop cleanly on SIGTERM/SIGUSR1/SIGUSR2 (preemption, time limit), Ctrl-C or after `max_minutes`.

    A first SIGINT (Ctrl-C) is handled like SIGTERM: the loop saves the state at the end of the step
    and the run exits 75. A second SIGINT before then raises KeyboardInterrupt (abort, nothing saved
    since the last snapshot), for a user who does not want to wait for the step to finish.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT)

    def __init__(self, max_minutes: float | None = None):
        self.deadline = time.monotonic() + max_minutes * 60 if max_minutes else None
        self.signalled: int | None = None
        for sig in self.SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        if signum == signal.SIGINT:
            if self.signalled == signal.SIGINT:
                raise KeyboardInterrupt
            print("\ninterrupted: saving the training state after this step (Ctrl-C again to abort "
                  "without saving)", file=sys.stderr, flush=True)
        self.signalled = signum

    def should_stop(self) -> bool:
        if self.signalled is not None:
            return True
        return self.deadline is not None and time.monotonic() > self.deadline
