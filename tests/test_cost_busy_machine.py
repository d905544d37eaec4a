"""The cost benchmarks beside a CPU hog: the orderings the work guarantees hold in CPU time, interleaved.

A subprocess spins on every core while the benchmarks run (tiny widths, in-process, a few rounds). Only
orderings the work itself fixes are asserted:

* EpiGRAF Table 2: the same tri-plane generator, and a patch of 4x (16x) the pixels = 4x (16x) the rays
  rendered and the pixels D sees, so patch 128 costs more than patch 32 and 64 per iteration (the paper's
  19 < 24 < 34 GPU-days); at these sizes the rays dominate (measured: 0.90 : 1 : 1.39 per round; the
  10% between 32 and 64 is not asserted);
* INR Table 1: image-based runs G's per-pixel MLP on 16x the coordinates of patch-based and every
  multi-stage stage, and D on 4x the pixels (measured ~2x per round at these widths). Patch-based vs
  multi-stage (the paper's 0.82 vs 0.71 s) is not fixed by the work (the later stages add a teacher
  pass), so it is not asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ganrepro.papers.epigraf import cost_bench as epigraf
from ganrepro.papers.inr_multistage import cost_bench as inr

HOG = ("import os, signal\nfor _ in range(os.cpu_count() - 1):\n    if os.fork() == 0:\n        break\n"
       "signal.alarm(300)\n"  # each spinner ends itself even if pytest is killed before the fixture's cleanup
       "while True:\n    pass\n")


@pytest.fixture(scope="module")
def busy_machine():
    """Every core spinning (one process per core, one process group, killed at the end)."""
    hog = subprocess.Popen([sys.executable, "-c", HOG], start_new_session=True)
    time.sleep(0.5)  # the forks are up
    try:
        yield hog
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait()


def test_epigraf_smaller_patches_cost_less_per_iteration_on_a_busy_machine(busy_machine):
    cfg = epigraf.BenchConfig(resolution=128, batch=2, iters=5, width_divisor=128, samples=16, threads=1)
    rows = {r["config"]: r for r in epigraf.benchmark(cfg, memory="saved", names=["patch32", "patch64", "patch128"])}
    assert busy_machine.poll() is None  # the hog ran throughout
    assert [rows[n]["patch_px"] for n in ("patch32", "patch64", "patch128")] == [8, 16, 32]
    assert all(r["timer"] == "cpu time" and len(r["sec_per_iter_samples"]) == 5 for r in rows.values())
    # 4x the rays: patch 128 above both by median (patch 32 vs 64, measured 0.90 : 1, is too close to assert
    # beside a hog on a shared machine; the table shows it with its interval)
    assert max(rows["patch32"]["sec_per_iter"], rows["patch64"]["sec_per_iter"]) < rows["patch128"]["sec_per_iter"]
    big = epigraf.time_ratio(rows["patch128"], rows["patch32"])
    assert big["min"] > 1.0  # 16x the rays: slower in every round


def test_inr_image_based_costs_more_than_patch_and_multistage_on_a_busy_machine(busy_machine):
    cfg = inr.BenchConfig(resolution=64, batch=2, iters=5, z_dim=8, w_dim=16, hidden=8, width=16,
                          d_channel_base=128, d_channel_max=16, accum_rounds=2, threads=1)
    rows = inr.benchmark(cfg, memory="saved", rows=(("image", 1), ("patch", 1), ("multistage", 1),
                                                    ("multistage", 2), ("multistage", 3)))
    assert busy_machine.poll() is None
    image = inr.row_of(rows, "image")
    for scheme in ("patch", "multistage"):
        ratio = inr.time_ratio(image, inr.row_of(rows, scheme))
        assert ratio["median"] > 1.3 and ratio["min"] > 1.0, (scheme, ratio)
