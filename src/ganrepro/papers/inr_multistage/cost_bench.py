"""Table 1's cost columns, measured: peak memory and seconds per training iteration of every scheme.

One iteration = D step (fakes + reals, logistic loss) + lazy R1 (step % 16 == 0) + G step (adversarial,
+ patch regularisation against a frozen teacher in multi-stage stages 2 and 3) + Adam steps + the EMA
update of G, exactly the code training runs (``step.py``). Every scheme runs at the same (global)
batch; gradient accumulation splits it into ``accum_rounds`` micro-batches.

Time (``ganrepro.cost_timing``): every scheme/stage is built in this process and they iterate in turn,
one iteration each per round (A B C A B C ...): one warm-up round (lazy R1 and the Adam state
allocation: it counts for memory, not for time), then ``iters`` timed rounds without R1 (the 15 of 16
steps training runs). An iteration is timed in CPU time of the process on the CPU (torch threads =
``threads``, the job's) and with CUDA events on a GPU; ``sec_per_iter`` is the median over the rounds,
``sec_per_iter_spread`` its quartiles and min-max, ``sec_per_iter_samples`` the rounds themselves.

Memory, per ``memory``:
* ``cuda``: ``torch.cuda.max_memory_allocated`` over the run (weights, optimiser state, activations);
* ``rss``: peak resident set size (``ru_maxrss``) of a fresh subprocess per scheme (warm-up + one
  iteration; the times are taken apart, in the interleaved rounds) -- the CPU stand-in
  for the GPU figure; the table also gives the RSS before the first iteration (weights + optimisers);
* ``saved``: in-process peak bytes of the tensors autograd keeps for backward (activation memory,
  deterministic; used by the tiny-size test).

The multi-stage row is the maximum memory and, per round, the mean sec/iter over its stages (equal
iterations per stage), each stage also shown. ``python -m ganrepro.papers.inr_multistage.cost_bench --resolution 256
--batch 1 --iters 3 --device cpu`` prints the table at paper widths.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass

import torch

from ganrepro.cost_timing import Timer, interleave, paired_ratios, set_threads, spread_text, summarize
from ganrepro.models.cips.discriminator import CIPSDiscriminator
from ganrepro.objectives.base import lazy_ratio
from ganrepro.models.cips.generator import (
    PAPER_CHANNEL_MULTIPLIER,
    PAPER_HIDDEN,
    PAPER_RESOLUTION,
    PAPER_W_DIM,
    PAPER_WIDTH,
    PAPER_Z_DIM,
    CIPSGenerator,
)

from .stages import ACCUMULATION_ROUNDS, frozen_copy, num_stages, stage_plan
from .step import d_loss, g_loss, make_step_batch, paper_g_reg_every, paper_r1, r1_loss

ROWS = (("image", 1), ("patch", 1), ("multistage", 1), ("multistage", 2), ("multistage", 3), ("accumulation", 1))
PAPER_COST = {"image": (86.0, 3.04), "patch": (30.0, 0.82), "multistage": (31.0, 0.71)}  # GB, sec/iter
EMA_BETA = 0.5 ** (32 / 1e4)  # CIPS's per-iteration EMA decay


@dataclass(frozen=True)
class BenchConfig:
    resolution: int = PAPER_RESOLUTION
    batch: int = 1
    iters: int = 3
    device: str = "cpu"
    z_dim: int = PAPER_Z_DIM
    w_dim: int = PAPER_W_DIM
    hidden: int = PAPER_HIDDEN
    width: int = PAPER_WIDTH
    channel_multiplier: int = PAPER_CHANNEL_MULTIPLIER
    d_channel_base: int = 32768
    d_channel_max: int = 512
    accum_rounds: int = ACCUMULATION_ROUNDS
    threads: int = 0  # torch intra-op threads (the job's); 0 leaves torch's default


class SavedTensorMeter:
    """Peak bytes of distinct storages autograd saves for backward (parameters excluded)."""

    def __init__(self):
        self.live: dict[int, list[int]] = {}
        self.current = self.peak = 0

    def _release(self, key: int) -> None:
        entry = self.live[key]
        entry[0] -= 1
        if entry[0] == 0:
            self.current -= entry[1]
            del self.live[key]

    def pack(self, t: torch.Tensor):
        if t.is_leaf and t.requires_grad:
            return t
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key in self.live:
            self.live[key][0] += 1
        else:
            self.live[key] = [1, storage.nbytes()]
            self.current += storage.nbytes()
            self.peak = max(self.peak, self.current)
        return _Saved(t, self, key)

    @staticmethod
    def unpack(obj):
        return obj.tensor if isinstance(obj, _Saved) else obj


class _Saved:
    def __init__(self, tensor, meter, key):
        self.tensor, self.meter, self.key = tensor, meter, key

    def __del__(self):
        self.meter._release(self.key)


def build(cfg: BenchConfig, scheme: str, stage: int):
    """(plan, G, G_ema, D, teacher or None, teacher_plan or None, optimisers) at ``cfg``'s sizes."""
    device = torch.device(cfg.device)
    plan = stage_plan(scheme, stage, cfg.resolution, accumulation_rounds=cfg.accum_rounds)
    G = CIPSGenerator(resolution=cfg.resolution, z_dim=cfg.z_dim, w_dim=cfg.w_dim, hidden=cfg.hidden,
                      width=cfg.width, channel_multiplier=cfg.channel_multiplier).to(device)
    D = CIPSDiscriminator(resolution=plan.d_resolution, channel_base=cfg.d_channel_base,
                          channel_max=cfg.d_channel_max).to(device)
    teacher_plan = (stage_plan(scheme, plan.teacher_stage, cfg.resolution)
                    if plan.teacher_stage is not None else None)
    teacher = frozen_copy(G) if teacher_plan is not None else None
    ratio, g_ratio = lazy_ratio(paper_r1()[1]), lazy_ratio(paper_g_reg_every())
    opt = {"G": torch.optim.Adam(G.parameters(), lr=0.002 * g_ratio, betas=(0.0, 0.99 ** g_ratio)),
           "D": torch.optim.Adam(D.parameters(), lr=0.002 * ratio, betas=(0.0, 0.99 ** ratio))}
    return plan, G, frozen_copy(G), D, teacher, teacher_plan, opt


def train_iteration(step: int, images, plan, G, G_ema, D, teacher, teacher_plan, opt, z_dim: int) -> None:
    """One G+D iteration of ``plan``'s scheme (micro-batches for accumulation)."""
    batch = make_step_batch(plan, images, z_dim, teacher_plan=teacher_plan)
    rounds = plan.micro_batches
    if images.shape[0] % rounds:
        raise ValueError(f"batch {images.shape[0]} cannot be split into {rounds} micro-batches")
    parts = [{k: v.chunk(rounds)[i] for k, v in batch.items()} for i in range(rounds)]
    phases = [("D", lambda b: d_loss(G, D, b))]
    gamma, interval = paper_r1()
    if step % interval == 0:
        phases.append(("D", lambda b: r1_loss(D, b, gamma)))
    phases.append(("G", lambda b: g_loss(G, D, b, teacher=teacher)))
    for net_name, loss_fn in phases:
        net = G if net_name == "G" else D
        net.requires_grad_(True)
        (D if net_name == "G" else G).requires_grad_(False)
        opt[net_name].zero_grad(set_to_none=True)
        for part in parts:
            loss, _ = loss_fn(part)
            (loss / rounds).backward()
        opt[net_name].step()
    with torch.no_grad():
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.lerp_(p, 1 - EMA_BETA)


class _Scheme:
    """One (scheme, stage), built and ready to iterate: its nets, optimisers and saved-tensor meter."""

    def __init__(self, cfg: BenchConfig, scheme: str, stage: int, images: torch.Tensor):
        self.cfg, self.images, self.meter = cfg, images, SavedTensorMeter()
        self.nets = build(cfg, scheme, stage)
        self.plan = self.nets[0]

    def iterate(self, warmup: bool) -> None:
        """One iteration; lazy R1 only in the warm-up (step 0), as the timed steps 1..15 of training."""
        with torch.autograd.graph.saved_tensors_hooks(self.meter.pack, self.meter.unpack):
            train_iteration(0 if warmup else 1, self.images, *self.nets, self.cfg.z_dim)

    def row(self, scheme: str, stage: int) -> dict:
        return {"scheme": scheme, "stage": stage, "coords_per_sample": self.plan.coords_per_sample,
                "d_resolution": self.plan.d_resolution, "micro_batches": self.plan.micro_batches}


def _images(cfg: BenchConfig) -> torch.Tensor:
    return torch.rand(cfg.batch, 3, cfg.resolution, cfg.resolution, device=torch.device(cfg.device)) * 2 - 1


def measure_memory(cfg: BenchConfig, scheme: str, stage: int, memory: str) -> dict:
    """Peak memory of a warm-up (R1, Adam state allocation) + one iteration of one scheme/stage here."""
    set_threads(cfg.threads)
    torch.manual_seed(0)
    device = torch.device(cfg.device)
    runner = _Scheme(cfg, scheme, stage, _images(cfg))
    if memory == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    base_rss_mb = _rss_now_mb()
    runner.iterate(warmup=True)
    runner.iterate(warmup=False)
    peak_mb = {"cuda": lambda: torch.cuda.max_memory_allocated(device) / 2**20,
               "rss": lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "saved": lambda: runner.meter.peak / 2**20}[memory]()
    return {**runner.row(scheme, stage), "memory": memory, "peak_mb": peak_mb,
            "base_rss_mb": base_rss_mb if memory == "rss" else None}


def time_interleaved(cfg: BenchConfig, rows) -> tuple[dict, dict]:
    """Every (scheme, stage) of ``rows`` built in this process and iterated in turn (one warm-up round,
    then ``cfg.iters`` timed rounds): ({row: seconds per round}, {row: _Scheme})."""
    set_threads(cfg.threads)
    torch.manual_seed(0)
    images, timer = _images(cfg), Timer(torch.device(cfg.device))
    runners = {row: _Scheme(cfg, *row, images) for row in rows}

    def step(runner):
        return lambda r: timer(lambda: runner.iterate(warmup=r < 0))

    samples = interleave({row: step(runner) for row, runner in runners.items()}, rounds=cfg.iters)
    return samples, runners


def _timed_row(row: dict, samples: list[float], timer: str) -> dict:
    return {**row, "timer": timer, "sec_per_iter": summarize(samples)["median"],
            "sec_per_iter_samples": samples, "sec_per_iter_spread": summarize(samples)}


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _in_subprocess(cfg: BenchConfig, scheme: str, stage: int, memory: str) -> dict:
    cmd = [sys.executable, "-m", "ganrepro.papers.inr_multistage.cost_bench", "--child", scheme, str(stage),
           "--config", json.dumps(asdict(cfg)), "--memory", memory]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def benchmark(cfg: BenchConfig, *, memory: str = "auto", rows=ROWS, subprocesses: bool | None = None) -> list[dict]:
    """Memory of every (scheme, stage) of ``rows`` (a fresh subprocess each for ``rss`` and ``cuda``), then
    their times interleaved in this process; adds the multi-stage aggregate row."""
    if memory == "auto":
        memory = "cuda" if cfg.device.startswith("cuda") else "rss"
    subprocesses = memory in ("rss", "cuda") if subprocesses is None else subprocesses
    skipped = {row: f"batch {cfg.batch} cannot be split into {cfg.accum_rounds} micro-batches"
               for row in rows if row[0] == "accumulation" and cfg.batch % cfg.accum_rounds}
    runnable = [row for row in rows if row not in skipped]
    peaks = {}
    if memory != "saved":
        peaks = {row: (_in_subprocess if subprocesses else measure_memory)(cfg, *row, memory) for row in runnable}
    samples, runners = time_interleaved(cfg, runnable)
    timer = Timer(torch.device(cfg.device)).kind
    results = []
    for row in rows:
        if row in skipped:
            results.append({"scheme": row[0], "stage": row[1], "skipped": skipped[row]})
            continue
        mem = peaks.get(row) or {**runners[row].row(*row), "memory": memory,
                                 "peak_mb": runners[row].meter.peak / 2**20, "base_rss_mb": None}
        results.append(_timed_row(mem, samples[row], timer))
    stages = [r for r in results if r["scheme"] == "multistage" and "peak_mb" in r]
    if len(stages) == num_stages("multistage"):  # per round: the mean over the stages (equal iterations each)
        per_round = [sum(s) / len(s) for s in zip(*(r["sec_per_iter_samples"] for r in stages))]
        results.append(_timed_row({**stages[-1], "stage": "all", "peak_mb": max(r["peak_mb"] for r in stages)},
                                  per_round, timer))
    return results


def row_of(results: list[dict], scheme: str) -> dict | None:
    for r in results:
        if r["scheme"] == scheme and r["stage"] in (1, "all") and "peak_mb" in r and (
                scheme != "multistage" or r["stage"] == "all"):
            return r
    return None


def time_ratio(a: dict, b: dict) -> dict:
    """a's time / b's, per interleaved round, summarised (median, quartiles, min-max)."""
    return summarize(paired_ratios(a["sec_per_iter_samples"], b["sec_per_iter_samples"]))


def format_table(results: list[dict], cfg: BenchConfig) -> str:
    timed = next((r for r in results if "timer" in r), {})
    lines = [f"device {cfg.device}, batch {cfg.batch}, resolution {cfg.resolution}, width {cfg.width}, "
             f"memory = {timed.get('memory', '?')}; s/iter = {timed.get('timer', '?')}, median [min-max] of "
             f"{cfg.iters} interleaved rounds",
             f"{'scheme':<14}{'stage':>6}{'coords':>8}{'D px':>6}{'peak MB':>11}{'base MB':>10}{'s/iter [min-max]':>26}"
             f"{'paper GB':>10}{'paper s':>9}"]
    for r in results:
        if "skipped" in r:
            lines.append(f"{r['scheme']:<14}{r['stage']!s:>6}  skipped: {r['skipped']}")
            continue
        paper = PAPER_COST.get(r["scheme"]) if r["stage"] in (1, "all") and not (
            r["scheme"] == "multistage" and r["stage"] != "all") else None
        base = f"{r['base_rss_mb']:.0f}" if r.get("base_rss_mb") else "-"
        lines.append(f"{r['scheme']:<14}{r['stage']!s:>6}{r['coords_per_sample']:>8}{r['d_resolution']:>6}"
                     f"{r['peak_mb']:>11.1f}{base:>10}{spread_text(r['sec_per_iter_spread']):>26}"
                     f"{(f'{paper[0]:.0f}' if paper else '-'):>10}{(f'{paper[1]:.2f}' if paper else '-'):>9}")
    image = row_of(results, "image")
    if image:
        lines.append("ratios image / scheme (memory, time median [min-max] per round):  measured  |  paper")
        for scheme in ("patch", "multistage", "accumulation"):
            r = row_of(results, scheme)
            if r is None:
                continue
            paper = PAPER_COST.get(scheme)
            ref = (f"{PAPER_COST['image'][0] / paper[0]:.2f}x, {PAPER_COST['image'][1] / paper[1]:.2f}x"
                   if paper else "not reported")
            lines.append(f"  image / {scheme:<13} {image['peak_mb'] / r['peak_mb']:.2f}x, "
                         f"{spread_text(time_ratio(image, r), 2)}x  |  {ref}")
    return "\n".join(lines)


def config_from(resolution: int = PAPER_RESOLUTION, batch: int = 1, iters: int = 3, device: str = "cpu",
                width: int = PAPER_WIDTH, accum_rounds: int = ACCUMULATION_ROUNDS, threads: int = 0) -> BenchConfig:
    """A benchmark config from the CLI's / params' knobs: ``width`` sets G's group width, and hidden,
    w and D's channel cap follow it (all the paper's at ``width`` 512); ``iters`` = timed rounds."""
    return BenchConfig(resolution=resolution, batch=batch, iters=iters, device=device, width=width,
                       hidden=min(PAPER_HIDDEN, width), w_dim=min(PAPER_W_DIM, width),
                       d_channel_max=min(512, width), accum_rounds=accum_rounds, threads=threads)


def run(settings: dict) -> dict:
    """The benchmark ``ganrepro cost-bench`` runs (settings from params/experiments/inr_multistage.yaml
    ``cost_bench.scales``): one row per scheme, keyed as the tables' ``cost:`` cells name them."""
    settings = dict(settings)
    memory = settings.pop("memory", "auto")
    cfg = config_from(**settings)
    results = benchmark(cfg, memory=memory)
    rows = {}
    for scheme in ("image", "patch", "multistage", "accumulation"):
        r = row_of(results, scheme)
        if r is not None:
            rows[scheme] = r
    for r in results:
        if r["scheme"] == "multistage" and r["stage"] != "all":
            rows[f"multistage-stage{r['stage']}"] = r
    return {"config": asdict(cfg), "device": cfg.device, "memory": results[0].get("memory", memory),
            "timer": rows["image"]["timer"] if "image" in rows else None, "rounds": cfg.iters, "batch": cfg.batch, "resolution": cfg.resolution, "rows": rows, "text": format_table(results, cfg)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", type=int, default=PAPER_RESOLUTION)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3, help="timed rounds (every scheme once per round)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--width", type=int, default=PAPER_WIDTH, help="G group width (hidden and w follow it)")
    ap.add_argument("--accum-rounds", type=int, default=ACCUMULATION_ROUNDS)
    ap.add_argument("--memory", default="auto", choices=["auto", "cuda", "rss", "saved"])
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--child", nargs=2, metavar=("SCHEME", "STAGE"), help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        cfg = BenchConfig(**json.loads(args.config))
        print(json.dumps(measure_memory(cfg, args.child[0], int(args.child[1]), args.memory)))
        return
    cfg = config_from(resolution=args.resolution, batch=args.batch, iters=args.iters, device=args.device,
                      width=args.width, accum_rounds=args.accum_rounds, threads=args.threads)
    results = benchmark(cfg, memory=args.memory)
    print(format_table(results, cfg))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": asdict(cfg), "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()
