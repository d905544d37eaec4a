"""Resumable training state, written atomically: a killed job leaves the previous state intact."""

from __future__ import annotations

from pathlib import Path

import torch

from ..utils_io import atomic_write

STATE_FILE = "state.pt"


def save_state(run_dir: str | Path, state: dict) -> Path:
    return atomic_write(Path(run_dir) / STATE_FILE, lambda tmp: torch.save(state, tmp))


def load_state(run_dir: str | Path) -> dict | None:
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a corrupt state must not be silently replaced by a fresh start
        raise RuntimeError(
            f"{path}: cannot read the training state ({exc}). Delete it to restart this run from scratch."
        ) from exc
