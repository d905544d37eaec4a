"""Timing that survives a busy machine, for the papers' cost benchmarks (the tables' cost cells).

A wall-clock time of one pass measures the machine as much as the work: beside other jobs, EpiGRAF's
patch 32 came out slower than patch 64. So the cost benchmarks

* time an iteration in **CPU time of this process** (``time.process_time``: every thread of the
  process, none of the others') on the CPU, with torch's intra-op threads set to the job's thread count,
  and with **CUDA events** (GPU time between two points of the stream) on a GPU;
* **interleave** the variants, one iteration each in turn (A B C A B C ...), after one untimed warm-up
  round, so a slow phase of the machine hits every variant alike;
* report the **median** and the spread (**min-max** and the quartiles) over the rounds; a ratio between
  two variants is taken per round (the two iterations ran side by side) and summarised the same way.

This module does not import torch at import time (the tables read ``summarize`` and ``paired_ratios``).
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Mapping


def summarize(samples: list[float]) -> dict:
    """``{median, q1, q3, min, max, n}`` of the samples (quartiles: the 'inclusive' method)."""
    xs = sorted(float(x) for x in samples)
    if not xs:
        raise ValueError("no samples to summarise")
    q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else (xs[0],) * 3
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "min": xs[0], "max": xs[-1], "n": len(xs)}


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """a[i] / b[i] per round: the two iterations of a round ran next to each other."""
    if len(a) != len(b):
        raise ValueError(f"unpaired samples: {len(a)} vs {len(b)}")
    return [x / y for x, y in zip(a, b)]


def set_threads(threads: int | None) -> None:
    """torch's intra-op threads = the job's (``threads`` of the scale preset); 0/None leaves them."""
    if threads:
        import torch

        torch.set_num_threads(int(threads))


class Timer:
    """Seconds of work of ``fn()``: CPU time of this process on the CPU, CUDA events on a GPU."""

    def __init__(self, device):
        self.device = device
        self.kind = "cuda events" if getattr(device, "type", str(device)) == "cuda" else "cpu time"

    def __call__(self, fn: Callable[[], object]) -> float:
        if self.kind == "cpu time":
            start = time.process_time()
            fn()
            return time.process_time() - start
        import torch

        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        fn()
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) / 1000.0


def interleave(steps: Mapping[str, Callable[[int], object]], rounds: int, warmup: int = 1) -> dict[str, list]:
    """Run ``steps[name](round)`` for every name in turn, ``warmup`` untimed rounds (round < 0) then
    ``rounds`` kept ones; returns ``{name: [what each kept call returned]}``."""
    out: dict[str, list] = {name: [] for name in steps}
    for r in range(-warmup, rounds):
        for name, step in steps.items():
            value = step(r)
            if r >= 0:
                out[name].append(value)
    return out


def spread_text(s: dict, digits: int = 3) -> str:
    """'median [min-max]' of a ``summarize`` dict."""
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"
