"""Table 2's training-cost column, measured: peak memory and seconds per iteration of each variant.

Configurations (all at the same batch): patch 32 / 64 / 128 with the scale/position-aware
(hypernetwork) D, and patch 64 with the standard D and with 2 and 4 scale-specific Ds. Sizes are the
paper's at ``resolution`` 512 and ``width_divisor`` 1; otherwise the ``epigraf`` family's
``scale_knobs`` shrinks them (widths / divisor; tri-planes and patches keep their ratio to the image
resolution, patches at least 4 px), and ``samples`` sets n_coarse = n_fine.

One iteration = the objective's G phase + D phase + lazy R1 phase (``EpiGRAFObjective
.accumulate_gradients``, the training code) with an Adam step after each, and the G EMA update.
Reals are random images; patch scales are drawn at the end of the annealing (beta = 0.8), no blur,
no augmentation, no density noise. R1 runs every iteration (so its memory counts) but is timed
apart: an iteration's time = t(G) + t(D) + t(R1) / reg_interval, the amortised lazy-R1 cost.

Time (``ganrepro.cost_timing``): every configuration is built in this process and they iterate in
turn, one iteration each per round (A B C A B C ...): one warm-up round (Adam state allocation: it
counts for memory, not for time), then ``iters`` timed rounds. A phase is timed in CPU time of the
process on the CPU (torch threads = ``threads``, the job's) and with CUDA events on a GPU;
``sec_per_iter`` is the median over the rounds (``sec_per_iter_spread``: quartiles, min-max;
``sec_per_iter_samples``: the rounds), a ratio to the default is taken per round.

Memory, per ``memory``: ``cuda`` = ``torch.cuda.max_memory_allocated``; ``rss`` = peak resident set
size (``ru_maxrss``) of a fresh subprocess per configuration (warm-up + one iteration; also the RSS before the first
iteration); ``saved`` = in-process peak bytes of the tensors autograd keeps for backward.
The paper's relative costs are the Table 2 GPU-day cells of ``params/reported/epigraf.yaml``
divided by the default's (patch 64, hypernetwork D). ``python -m ganrepro.papers.epigraf.cost_bench
--device cuda`` runs the paper sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ganrepro.config.load import params_root, read_yaml
from ganrepro.cost_timing import Timer, interleave, paired_ratios, set_threads, spread_text, summarize
from ganrepro.papers.epigraf.models.family import PAPER_KNOBS, build, scale_knobs
from ganrepro.objectives.base import Nets, Objective, lazy_ratio
from ganrepro.papers.inr_multistage.cost_bench import SavedTensorMeter
from ganrepro.training.ema import make_ema, update_ema

from .objective import EpiGRAFObjective, paper_loss
from .patches import extract_real_patches

PAPER_RESOLUTION = 512
# (row name = Table 2 variant, patch size at 512^2, D variant, number of Ds)
CONFIGS = (("patch32", 32, "hyper", 1), ("patch64", 64, "hyper", 1), ("patch128", 128, "hyper", 1),
           ("d_standard", 64, "standard", 1), ("d_scale_specific2", 64, "multi", 2),
           ("d_scale_specific4", 64, "multi", 4))
REFERENCE = "patch64"
SCHED = {"patch_beta": 0.8, "blur_sigma": 0.0, "aug_p": 0.0, "density_noise": 0.0}
EMA_BETA = 0.5 ** (64 / 10e3)  # StyleGAN2-ADA's ema_kimg = 10 at batch 64


@dataclass(frozen=True)
class BenchConfig:
    resolution: int = PAPER_RESOLUTION
    batch: int = 2
    iters: int = 2
    device: str = "cpu"
    width_divisor: float = 1.0
    samples: int = 48
    threads: int = 0  # torch intra-op threads (the job's); 0 leaves torch's default


class _NoAugment(nn.Module):
    def forward(self, x: torch.Tensor, p: float = 0.0) -> torch.Tensor:
        return x


class _BenchObjective(EpiGRAFObjective):
    """EpiGRAF's phases on synthetic batches: no archive, fp32, the paper's loss constants."""

    def __init__(self, nets: Nets, device: torch.device, batch: int, resolution: int):
        Objective.__init__(self, {"model": {}, "train": {"mixed_precision": "fp32"}}, nets, None, device)
        self.loss, self.batch, self.micro_batch, self.render3d = paper_loss(), batch, batch, True
        self.patch_resolution = nets.D.patch_resolution
        self.min_scale = self.patch_resolution / resolution

    def synthetic_batch(self) -> dict:
        """Random reals at random near-frontal cameras; patch parameters from the schedule."""
        n, dev = self.batch, self.device
        reals = torch.rand(n, 3, self.nets.G.img_resolution, self.nets.G.img_resolution, device=dev) * 2 - 1

        def cams():
            yaw, pitch = torch.randn(n) * 0.3, math.pi / 2 + torch.randn(n) * 0.15
            return torch.stack([yaw, pitch, torch.zeros(n)], dim=1).to(dev)

        patch_d, patch_r = self._patches(SCHED), self._patches(SCHED)
        batch = {"c_real": None, "cam_real": cams(), "patch_real": patch_d,
                 "real": extract_real_patches(reals, patch_d, self.patch_resolution), "patch_r1": patch_r,
                 "real_r1": extract_real_patches(reals, patch_r, self.patch_resolution)}
        for phase in ("d", "g"):
            batch.update({f"z_{phase}": torch.randn(n, self.nets.G.z_dim, device=dev), f"c_{phase}": None,
                          f"cam_{phase}": cams(), f"patch_{phase}": self._patches(SCHED)})
        return batch


def knobs(cfg: BenchConfig, patch: int, d_variant: str, num_d: int) -> dict:
    """Model knobs of one configuration at ``cfg``'s size."""
    scale = {"width_divisor": cfg.width_divisor, "min_width": 4, "z_dim_max": None}
    m = scale_knobs({"d_variant": d_variant, "num_discriminators": num_d, "patch_resolution": patch},
                    resolution=cfg.resolution, paper_resolution=PAPER_RESOLUTION, scale=scale)
    return {**m, "n_coarse": cfg.samples, "n_fine": cfg.samples}


def build_nets(cfg: BenchConfig, name: str) -> tuple[Nets, dict]:
    _, patch, d_variant, num_d = next(c for c in CONFIGS if c[0] == name)
    m = knobs(cfg, patch, d_variant, num_d)
    G, D = build({k: m[k] for k in PAPER_KNOBS}, resolution=cfg.resolution, img_channels=3, num_classes=0)
    device = torch.device(cfg.device)
    G, D = G.to(device).train(), D.to(device).train()
    ratio = lazy_ratio(paper_loss()["reg_interval"])
    opt = {"G": torch.optim.Adam(G.parameters(), lr=0.0025, betas=(0.0, 0.99)),
           "D": torch.optim.Adam(D.parameters(), lr=0.002 * ratio, betas=(0.0, 0.99 ** ratio))}
    return Nets(G=G, D=D, G_ema=make_ema(G), augment=_NoAugment(), opt=opt), m


def train_iteration(obj: _BenchObjective, timer: Timer) -> dict[str, float]:
    """G, D and R1 phases with their Adam steps and the EMA update; seconds per phase (``timer``)."""
    nets, batch = obj.nets, obj.synthetic_batch()

    def run(phase: str, net_name: str) -> None:
        net, other = (nets.G, nets.D) if net_name == "G" else (nets.D, nets.G)
        net.requires_grad_(True)
        other.requires_grad_(False)
        nets.opt[net_name].zero_grad(set_to_none=True)
        obj.accumulate_gradients(phase, batch, SCHED, gain=1.0)
        nets.opt[net_name].step()
        if phase == "G":
            update_ema(nets.G_ema, nets.G, EMA_BETA)

    return {phase: timer(lambda p=phase, n=net: run(p, n)) for phase, net in (("G", "G"), ("D", "D"), ("Dreg", "D"))}


class _Variant:
    """One Table 2 configuration, built and ready to iterate, with its saved-tensor meter."""

    def __init__(self, cfg: BenchConfig, name: str):
        self.name, self.meter = name, SavedTensorMeter()
        self.nets, self.knobs = build_nets(cfg, name)
        self.obj = _BenchObjective(self.nets, torch.device(cfg.device), cfg.batch, cfg.resolution)

    def iterate(self, timer: Timer) -> dict[str, float]:
        with torch.autograd.graph.saved_tensors_hooks(self.meter.pack, self.meter.unpack):
            return train_iteration(self.obj, timer)

    def row(self) -> dict:
        m, nets = self.knobs, self.nets
        return {"config": self.name, "patch_px": m["patch_resolution"], "d_variant": m["d_variant"],
                "num_d": m["num_discriminators"], "plane_resolution": m["plane_resolution"],
                "params_g_m": sum(p.numel() for p in nets.G.parameters()) / 1e6,
                "params_d_m": sum(p.numel() for p in nets.D.parameters()) / 1e6}


def measure_memory(cfg: BenchConfig, name: str, memory: str) -> dict:
    """Peak memory of a warm-up (Adam state allocation) + one iteration of configuration ``name`` here."""
    set_threads(cfg.threads)
    torch.manual_seed(0)
    device = torch.device(cfg.device)
    variant, timer = _Variant(cfg, name), Timer(device)
    if memory == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    base_rss_mb = _rss_now_mb()
    for _ in range(2):
        variant.iterate(timer)
    peak_mb = {"cuda": lambda: torch.cuda.max_memory_allocated(device) / 2**20,
               "rss": lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "saved": lambda: variant.meter.peak / 2**20}[memory]()
    return {**variant.row(), "memory": memory, "peak_mb": peak_mb,
            "base_rss_mb": base_rss_mb if memory == "rss" else None}


def time_interleaved(cfg: BenchConfig, names) -> tuple[dict, dict]:
    """Every configuration built in this process and iterated in turn (one warm-up round, then
    ``cfg.iters`` timed rounds): ({name: [phase seconds per round]}, {name: _Variant})."""
    set_threads(cfg.threads)
    torch.manual_seed(0)
    timer = Timer(torch.device(cfg.device))
    variants = {name: _Variant(cfg, name) for name in names}
    return interleave({n: (lambda r, v=v: v.iterate(timer)) for n, v in variants.items()}, cfg.iters), variants


def iteration_seconds(phases: dict[str, float]) -> float:
    """t(G) + t(D) + t(R1) / reg_interval: one iteration with the lazy R1 amortised."""
    return phases["G"] + phases["D"] + phases["Dreg"] / paper_loss()["reg_interval"]


def _timed_row(row: dict, rounds: list[dict], timer: str) -> dict:
    samples = [iteration_seconds(p) for p in rounds]
    phase = {k: summarize([p[k] for p in rounds])["median"] for k in ("G", "D", "Dreg")}
    return {**row, "timer": timer, "phase_sec": phase, "sec_per_iter": summarize(samples)["median"],
            "sec_per_iter_samples": samples, "sec_per_iter_spread": summarize(samples)}


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _in_subprocess(cfg: BenchConfig, name: str, memory: str) -> dict:
    cmd = [sys.executable, "-m", "ganrepro.papers.epigraf.cost_bench", "--child", name,
           "--config", json.dumps(asdict(cfg)), "--memory", memory]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def benchmark(cfg: BenchConfig, *, memory: str = "auto", subprocesses: bool | None = None,
              names=None) -> list[dict]:
    """One row per ``CONFIGS`` entry (or ``names``): memory (``rss`` and ``cuda`` in a fresh subprocess
    each by default), then the times of all of them interleaved in this process."""
    if memory == "auto":
        memory = "cuda" if cfg.device.startswith("cuda") else "rss"
    subprocesses = memory in ("rss", "cuda") if subprocesses is None else subprocesses
    names = list(names or (c[0] for c in CONFIGS))
    peaks = {}
    if memory != "saved":
        peaks = {n: (_in_subprocess if subprocesses else measure_memory)(cfg, n, memory) for n in names}
    rounds, variants = time_interleaved(cfg, names)
    timer = Timer(torch.device(cfg.device)).kind
    return [_timed_row(peaks.get(n) or {**variants[n].row(), "memory": memory, "base_rss_mb": None,
                                        "peak_mb": variants[n].meter.peak / 2**20}, rounds[n], timer)
            for n in names]


def paper_costs(path=None) -> dict[str, tuple[float, float]]:
    """{Table 2 variant: (V100 GPU-days, ratio to patch 64)} from the FFHQ-512 cells of the reported file."""
    data = read_yaml(path or params_root() / "reported" / "epigraf.yaml")
    days = {r["variant"]: r["reported"]["gpu_days"] for r in data["tables"]["table2"]["rows"]
            if r["reported"].get("gpu_days") is not None}
    return {k: (v, v / days[REFERENCE]) for k, v in days.items()}


def time_ratio(row: dict, ref: dict) -> dict:
    """row's time / ref's, per interleaved round, summarised (median, quartiles, min-max)."""
    return summarize(paired_ratios(row["sec_per_iter_samples"], ref["sec_per_iter_samples"]))


def format_table(results: list[dict], cfg: BenchConfig, paper: dict[str, tuple[float, float]]) -> str:
    ref = next(r for r in results if r["config"] == REFERENCE)
    lines = [f"device {cfg.device}, batch {cfg.batch}, resolution {cfg.resolution}, width divisor "
             f"{cfg.width_divisor:g}, samples {cfg.samples}+{cfg.samples}, planes {ref['plane_resolution']}, "
             f"memory = {ref['memory']}; s/iter = {ref['timer']}, median [min-max] of {cfg.iters} interleaved "
             f"rounds; ratios are / ({REFERENCE}, hyper D), time x per round",
             f"{'config':<19}{'patch':>6}{'D':>10}{'G M':>7}{'D M':>7}{'peak MB':>10}{'base MB':>9}"
             f"{'s/iter [min-max]':>24}{'mem x':>7}{'time x [min-max]':>20}{'paper d':>9}{'paper x':>9}"]
    for r in results:
        d = r["d_variant"] + (f"x{r['num_d']}" if r["d_variant"] == "multi" else "")
        base = f"{r['base_rss_mb']:.0f}" if r.get("base_rss_mb") else "-"
        days, ratio = paper.get(r["config"], (None, None))
        lines.append(f"{r['config']:<19}{r['patch_px']:>6}{d:>10}{r['params_g_m']:>7.2f}{r['params_d_m']:>7.2f}"
                     f"{r['peak_mb']:>10.1f}{base:>9}{spread_text(r['sec_per_iter_spread']):>24}"
                     f"{r['peak_mb'] / ref['peak_mb']:>7.2f}{spread_text(time_ratio(r, ref), 2):>20}"
                     f"{(f'{days:g}' if days is not None else '-'):>9}{(f'{ratio:.2f}' if ratio else '-'):>9}")
    return "\n".join(lines)


def run(settings: dict) -> dict:
    """The benchmark ``ganrepro cost-bench`` runs (settings from params/experiments/epigraf.yaml
    ``cost_bench.scales``): one row per Table 2 variant (``CONFIGS``), keyed as the tables' ``cost:``
    cells name them."""
    settings = dict(settings)
    memory = settings.pop("memory", "auto")
    cfg = BenchConfig(**settings)
    results = benchmark(cfg, memory=memory)
    return {"config": asdict(cfg), "device": cfg.device, "memory": results[0]["memory"],
            "timer": results[0]["timer"], "rounds": cfg.iters, "batch": cfg.batch,
            "resolution": cfg.resolution, "rows": {r["config"]: r for r in results},
            "text": format_table(results, cfg, paper_costs())}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--iters", type=int, default=2, help="timed rounds (every variant once per round) after one warm-up")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--width-divisor", type=float, default=1.0, help="paper widths / this")
    ap.add_argument("--resolution", type=int, default=PAPER_RESOLUTION)
    ap.add_argument("--samples", type=int, default=48, help="coarse and fine samples per ray (each)")
    ap.add_argument("--memory", default="auto", choices=["auto", "cuda", "rss", "saved"])
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure_memory(BenchConfig(**json.loads(args.config)), args.child, args.memory)))
        return
    cfg = BenchConfig(resolution=args.resolution, batch=args.batch, iters=args.iters, device=args.device,
                      width_divisor=args.width_divisor, samples=args.samples, threads=args.threads)
    results = benchmark(cfg, memory=args.memory)
    print(format_table(results, cfg, paper_costs()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": asdict(cfg), "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()
