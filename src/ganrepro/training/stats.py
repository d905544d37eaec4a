"""Training statistics: per-step values averaged over a tick, appended to stats.jsonl."""

from __future__ import annotations

import json
import resource
from collections import defaultdict
from pathlib import Path

import torch

STATS_FILE = "stats.jsonl"


class TickStats:
    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, values: dict) -> None:
        for key, value in values.items():
            self.sums[key] += float(value)
            self.counts[key] += 1

    def means(self) -> dict:
        return {k: self.sums[k] / self.counts[k] for k in sorted(self.sums)}


def peak_memory_mb(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"peak_gpu_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20}
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def append_stats(run_dir: Path, line: dict) -> None:
    with open(run_dir / STATS_FILE, "a") as f:
        f.write(json.dumps(line) + "\n")


def truncate_stats(run_dir: Path, step: int) -> None:
    """On resume, drop lines written after the saved state so the log equals an uninterrupted run's."""
    path = run_dir / STATS_FILE
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
    path.write_text("".join(ln + "\n" for ln in keep))


def read_stats(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / STATS_FILE
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
