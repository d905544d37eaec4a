"""`ganrepro bench`: training throughput (images/s) and peak memory per config, on this device.

Runs the real training loop for a few steps and prints one line per experiment. Data: the embedded
stand-in (a few hundred images generated on the spot, with its cameras where the paper needs them)
when the experiment's dataset is embedded, random images of the right shape otherwise (so no dataset
download is needed). A run initialised from another stage's network (multi-stage INR) gets that
predecessor benchmarked first in the same directory. A benchmark, not a test: rerun it to compare
machines.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..config import list_experiments, resolve_run
from ..data import write_archive
from ..data.embedded import make_embedded
from ..models import build_networks, count_params
from ..training.loop import pick_device, train
from ..training.stats import read_stats


def _bench_archive(root: Path, cfg: dict) -> str:
    ds = cfg["dataset"]
    path = root / f"{ds['key']}-{ds['resolution']}"
    spec = ds.get("spec") or {}
    if path.exists():
        return str(path)
    if spec.get("source") == "embedded":
        make_embedded(spec["generator"], path, resolution=ds["resolution"], count=max(256, cfg["train"]["batch"]),
                      num_classes=spec.get("num_classes"), seed=int(spec.get("seed", 0)),
                      standin_for=spec.get("standin_for"), dataset=ds["key"])
    else:
        rng = np.random.default_rng(0)
        n = max(64, cfg["train"]["batch"])
        images = rng.integers(0, 256, size=(n, ds["channels"], ds["resolution"], ds["resolution"]), dtype=np.uint8)
        labels = rng.integers(0, ds["num_classes"], size=n) if ds["num_classes"] else None
        poses = np.stack([rng.normal(0, 0.3, n), np.pi / 2 + rng.normal(0, 0.15, n), np.zeros(n)], 1)  # 3D GANs'
        write_archive(path, images, labels, dataset="bench-random", source="bench",  # near-frontal cameras
                      extra_arrays={"poses": poses.astype(np.float32)})
    return str(path)


def set_precision(cfg: dict, precision: str | None) -> None:
    """``fp32``: no autocast, no reduced-precision stages; ``bf16``: the run's mixed precision on CUDA (its
    reduced-precision stages where the family has them, else bf16 autocast); None: as resolved."""
    if precision == "fp32":
        cfg["train"]["mixed_precision"] = "fp32"
        if "reduced_precision_stages" in cfg["model"]:
            cfg["model"]["reduced_precision_stages"] = 0
    elif precision == "bf16":
        cfg["train"]["mixed_precision"] = "bf16"


def bench_one(paper: str, experiment: str, scale: str, *, steps: int, device: str | None, root: Path,
              precision: str | None = None) -> dict:
    cfg = copy.deepcopy(resolve_run(paper, experiment, scale, own_keeps=True))  # a copy in its own directory
    if device:
        cfg["train"]["device"] = device
    set_precision(cfg, precision)
    dev = pick_device(cfg["train"]["device"])
    cfg["dataset"]["path"] = _bench_archive(root, cfg)
    batch = cfg["train"]["batch"]
    run_dir = root / experiment
    if cfg.get("init_from"):  # a later stage starts from its predecessor's network: train that one first,
        pre, init_root = cfg["init_from"]["experiment"], root / "_init"  # apart from the predecessor's own row
        if not (init_root / pre / "network.pt").exists():
            bench_one(paper, pre, scale, steps=1, device=device, root=init_root, precision=precision)
        cfg["init_from"] = {**cfg["init_from"], "network": str(init_root / pre / "network.pt")}
    cfg["paths"] = {"run_dir": str(run_dir), "network": str(run_dir / "network.pt"),
                    "result": str(run_dir / "result.json"), "metrics": str(run_dir / "metrics.json")}
    cfg["train"].update(tick_kimg=batch / 1000, snapshot_ticks=10**9)
    cfg["divergence"]["grad_norm_max"] = float("inf")
    # Warm-up step (allocations, kernel selection), then the timed steps.
    cfg["train"]["kimg"] = batch / 1000
    train(cfg, progress=False)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    cfg["train"]["kimg"] = batch * (steps + 1) / 1000
    train(cfg, progress=False)
    # Per-step wall time from the loop's own tick timer (one tick per step), excluding start-up costs.
    ticks = read_stats(run_dir)[1:]
    elapsed = sum(t["sec_per_kimg"] * batch / 1000 for t in ticks)
    steps = len(ticks)
    G, D = build_networks(cfg["model"], resolution=cfg["dataset"]["resolution"], img_channels=cfg["dataset"]["channels"],
                          num_classes=cfg["dataset"]["num_classes"])
    peak = (torch.cuda.max_memory_allocated(dev) / 2**20) if dev.type == "cuda" else None
    import resource

    return {"experiment": experiment, "device": str(dev), "precision": cfg["train"]["mixed_precision"], "resolution": cfg["dataset"]["resolution"],
            "batch": batch, "params_g": count_params(G), "params_d": count_params(D),
            "steps": steps, "images_per_s": steps * batch / elapsed, "sec_per_step": elapsed / steps,
            "peak_gpu_mem_mb": peak, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_bench(paper: str, scale: str, *, experiments: list[str] | None, steps: int, device: str | None) -> list[dict]:
    torch.manual_seed(0)
    rows = []
    print(f"{'experiment':<20} {'device':<8} {'res':>4} {'batch':>5} {'G params':>10} {'img/s':>9} {'s/step':>8} "
          f"{'peak GPU MB':>11} {'peak RSS MB':>11}")
    with tempfile.TemporaryDirectory(prefix="ganrepro-bench-") as tmp:
        for exp in experiments or list_experiments(paper):
            r = bench_one(paper, exp, scale, steps=steps, device=device, root=Path(tmp))
            rows.append(r)
            gpu = f"{r['peak_gpu_mem_mb']:.0f}" if r["peak_gpu_mem_mb"] is not None else "-"
            print(f"{exp:<20} {r['device']:<8} {r['resolution']:>4} {r['batch']:>5} {r['params_g']:>10,} "
                  f"{r['images_per_s']:>9.1f} {r['sec_per_step']:>8.3f} {gpu:>11} {r['peak_rss_mb']:>11.0f}", flush=True)
    return rows
