"""Helpers shared by the training tests."""

from ganrepro.training.hooks import Hooks


class StopAfter(Hooks):
    """Ask the loop to stop (as a signal would) after ``calls`` checks: an interrupted run."""

    def __init__(self, calls):
        self.calls = calls

    def should_stop(self):
        self.calls -= 1
        return self.calls < 0
