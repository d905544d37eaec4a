"""Helpers for tests that drive the real Snakefile in a temporary directory (no pytest fixtures here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake_env(work: Path, **extra: str) -> dict:
    """Environment for a snakemake subprocess: the venv's `ganrepro` first on PATH, caches under `work`."""
    env = dict(os.environ, MPLCONFIGDIR=str(Path(work) / ".mpl"), **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def snakemake_cmd(work: Path, *args: str) -> list[str]:
    return SNAKEMAKE + ["-s", str(REPO / "Snakefile"), "--directory", str(work), *args]


def params_with_tiny(dest: Path, **tiny: object) -> Path:
    """Copy params/ to `dest` with values of the tiny scale replaced (e.g. kimg=0.8 for longer training).

    Point GANREPRO_PARAMS at the copy (snakemake and every job inherit it; SLURM jobs via --export=ALL).
    """
    import shutil

    import yaml

    shutil.copytree(REPO / "params", dest)
    path = dest / "scales" / "tiny.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(tiny)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest
