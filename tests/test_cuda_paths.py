"""CUDA code paths at tiny sizes: training steps per family in fp32 and bf16, the cost timer's CUDA events,
the cost benchmarks' CUDA memory. Skipped without a GPU; `ganrepro gpu-check` runs them (pytest -m cuda)."""

from __future__ import annotations

import math

import pytest
import torch

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("paper, exp", [("r3gan", "t2-a-stylegan2"), ("r3gan", "t6-e-cifar10"),
                                        ("epigraf", "t1-epigraf-ffhq512"), ("inr_multistage", "patch-ffhq")])
def test_every_family_trains_on_cuda(tmp_path, paper, exp, precision):
    from ganrepro.orchestration.bench import bench_one

    r = bench_one(paper, exp, "tiny", steps=2, device="cuda", root=tmp_path, precision=precision)
    assert r["device"].startswith("cuda") and r["precision"] == precision
    assert r["peak_gpu_mem_mb"] > 0 and math.isfinite(r["sec_per_step"]) and r["images_per_s"] > 0


def test_cost_timer_uses_cuda_events():
    from ganrepro.cost_timing import Timer

    timer, x = Timer(torch.device("cuda")), torch.randn(2048, 2048, device="cuda")
    assert timer.kind == "cuda events" and timer(lambda: x @ x) > 0


def test_cost_benchmark_measures_cuda_memory_and_orders_patches():
    from ganrepro.papers.epigraf import cost_bench as cb

    cfg = cb.BenchConfig(resolution=128, batch=2, iters=3, width_divisor=16, samples=16, device="cuda")
    rows = {r["config"]: r for r in cb.benchmark(cfg, memory="cuda", names=["patch32", "patch128"])}
    assert all(r["memory"] == "cuda" and r["timer"] == "cuda events" and r["peak_mb"] > 0 for r in rows.values())
    assert rows["patch32"]["peak_mb"] < rows["patch128"]["peak_mb"]
