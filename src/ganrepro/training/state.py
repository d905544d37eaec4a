"""Resumable training state, written atomically: a killed job leaves the previous state intact."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ResultFileError
from ..utils_io import atomic_write

STATE_FILE = "state.pt"


def save_state(run_dir: str | Path, state: dict) -> Path:
    return atomic_write(Path(run_dir) / STATE_FILE, lambda tmp: torch.save(state, tmp))


def load_state(run_dir: str | Path) -> dict | None:
    """The saved training state of a run, or None if there is none.

    A state that cannot be read raises `ResultFileError` and is left in place: a corrupt state must
    not be silently replaced by a fresh start, nor deleted (the user may still recover it).
    """
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultFileError(_corrupt_state_message(path, reason)) from exc
    if not isinstance(state, dict) or "step" not in state:
        raise ResultFileError(_corrupt_state_message(path, f"not a ganrepro training state: {type(state).__name__}"))
    return state


def _corrupt_state_message(path: Path, reason: str) -> str:
    return (f"{path}: cannot read the training state ({reason}); the file is truncated or corrupt and was "
            f"left as it is. Delete it to restart this run from scratch (`rm {path}`), then re-run the "
            "same command; or put back a good copy to resume from it.")


def set_aside(run_dir: str | Path, identity: str) -> list[Path]:
    """Move a state (its stats and kept snapshots) trained under another config out of the way; nothing
    is deleted."""
    run_dir = Path(run_dir)
    moved = []
    for name, suffix in ((STATE_FILE, ".pt"), ("stats.jsonl", ".jsonl"), ("networks", "")):
        src = run_dir / name
        if src.exists():
            dst = run_dir / f"{Path(name).stem}.config-{identity}{suffix}"
            k = 1
            while dst.exists():  # set aside before under this identity (a config toggled back and forth)
                dst = run_dir / f"{Path(name).stem}.config-{identity}.{k}{suffix}"
                k += 1
            src.replace(dst)
            moved.append(dst)
    return moved
