"""Provenance stamped into every result file: commit, dirty flag, versions, host, device, time."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

_PACKAGES = ("torch", "torchvision", "torch-fidelity", "numpy", "pandas", "ganrepro")


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def git_state(cwd: str | None = None) -> dict:
    """Commit of the ganrepro code that runs (its checkout), not of the working directory."""
    here = Path(cwd) if cwd else Path(__file__).resolve().parent
    commit = _git("rev-parse", "HEAD", cwd=here)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=here)
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


@functools.lru_cache(maxsize=1)
def package_versions() -> dict:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def device_description(device: str | None = None) -> str:
    import torch

    if device and device.startswith("cuda") and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu:{platform.processor() or platform.machine()} x{os.cpu_count()} threads={torch.get_num_threads()}"


# Scheduler context recorded with every result: which SLURM job produced it and which GPUs it was given.
SCHEDULER_VARS = ("SLURM_JOB_ID", "SLURM_CLUSTER_NAME", "SLURM_JOB_PARTITION", "SLURM_ARRAY_TASK_ID",
                  "CUDA_VISIBLE_DEVICES")


def scheduler_context() -> dict:
    return {k: os.environ[k] for k in SCHEDULER_VARS if k in os.environ}


def provenance(*, config: dict | None = None, seeds: dict | None = None, device: str | None = None) -> dict:
    """The provenance block every result file carries."""
    return {
        "git": git_state(),
        "versions": package_versions(),
        "host": socket.gethostname(),
        "scheduler": scheduler_context(),
        "device": device_description(device),
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seeds": seeds or {},
        "config": config or {},
    }
