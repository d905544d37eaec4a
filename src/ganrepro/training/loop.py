"""The training loop. Knows nothing of Snakemake, DVC or SLURM: a resolved config and a run directory.

Resume by re-running the same command: the loop restores `state.pt` and continues. Data order, latent
codes, augmentation and every other random draw are functions of (seed, step), so an interrupted and
resumed run ends bit-identical to an uninterrupted one on CPU.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .. import data as data_pkg
from ..errors import TrainingDiverged
from ..models import build_networks
from ..provenance import provenance
from ..utils_io import atomic_write, write_json
from . import distributed
from .augment import AugmentPipe
from .divergence import DivergenceGuard
from .ema import make_ema, update_ema
from .hooks import Hooks
from .phases import Nets, d_step, g_step, pl_step
from .schedules import ema_beta, values_at
from .state import load_state, run_identity, save_state, set_aside
from .stats import TickStats, append_stats, peak_memory_mb, truncate_stats

PL_INTERVAL = 4  # StyleGAN2's lazy path-length regularisation interval


def pick_device(name: str) -> torch.device:
    if name in ("cuda", "auto") and torch.cuda.is_available():
        return torch.device("cuda", distributed.local_rank() % torch.cuda.device_count())
    return torch.device("cpu")


def step_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + 17) % (2**63 - 1)


def seed_step(seed: int, step: int) -> None:
    s = step_seed(seed, step)
    torch.manual_seed(s)
    random.seed(s)


def _lazy_ratio(interval: int) -> float:
    return interval / (interval + 1) if interval > 1 else 1.0


def _set_optimizer(opt: torch.optim.Optimizer, lr: float, beta1: float, beta2: float, ratio: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr * ratio
        group["betas"] = (beta1**ratio, beta2**ratio)


def micro_batches(batch: int, world_size: int, rank: int, batch_gpu: int | None) -> list[slice]:
    """This process's share of the global batch, split into micro-batches for gradient accumulation.

    Latents and real images are drawn for the whole global batch and sliced, so the samples a run
    sees do not depend on how many processes or micro-batches share the work.
    """
    per_rank = batch // world_size
    batch_gpu = batch_gpu or per_rank
    if per_rank % batch_gpu:
        raise ValueError(f"per-process batch {per_rank} is not divisible by batch_gpu {batch_gpu}")
    start = rank * per_rank
    return [slice(start + i, start + i + batch_gpu) for i in range(0, per_rank, batch_gpu)]


def _sub(c, m):
    return None if c is None else c[m]


def _accumulate(micro: list[slice], phase) -> dict:
    """Run `phase` on every micro-batch (gradients add up) and average the returned stats."""
    totals: dict = {}
    for m in micro:
        for key, value in phase(m).items():
            totals[key] = totals.get(key, 0.0) + value / len(micro)
    return totals


def build(cfg: dict, archive, device: torch.device) -> Nets:
    G, D = build_networks(cfg["model"], resolution=archive.resolution, img_channels=archive.channels,
                          num_classes=cfg["dataset"]["num_classes"])
    G, D = G.to(device), D.to(device)
    augment = AugmentPipe.from_preset(cfg["augment"]).to(device)
    opt_G = torch.optim.Adam(G.parameters(), lr=cfg["schedule"]["lr"][0], betas=(0.0, 0.99), eps=1e-8)
    opt_D = torch.optim.Adam(D.parameters(), lr=cfg["schedule"]["lr"][0], betas=(0.0, 0.99), eps=1e-8)
    return Nets(G=G, D=D, G_ema=make_ema(G), augment=augment, opt_G=opt_G, opt_D=opt_D)


def _snapshot(nets: Nets, step: int, images_seen: int, guard: DivergenceGuard, identity: str) -> dict:
    return {
        "G": nets.G.state_dict(), "D": nets.D.state_dict(), "G_ema": nets.G_ema.state_dict(),
        "opt_G": nets.opt_G.state_dict(), "opt_D": nets.opt_D.state_dict(),
        "pl_mean": nets.pl_mean.cpu(), "step": step, "images_seen": images_seen,
        "guard": guard.state_dict(), "identity": identity,
    }


def _restore(nets: Nets, state: dict, guard: DivergenceGuard) -> tuple[int, int]:
    nets.G.load_state_dict(state["G"])
    nets.D.load_state_dict(state["D"])
    nets.G_ema.load_state_dict(state["G_ema"])
    nets.opt_G.load_state_dict(state["opt_G"])
    nets.opt_D.load_state_dict(state["opt_D"])
    nets.pl_mean = state["pl_mean"]
    guard.load_state_dict(state.get("guard", {}))
    return int(state["step"]), int(state["images_seen"])


def save_network(path: Path, nets: Nets, cfg: dict, archive, status: str) -> None:
    payload = {
        "G_ema": nets.G_ema.state_dict(),
        "arch": cfg["model"],
        "resolution": archive.resolution,
        "img_channels": archive.channels,
        "num_classes": cfg["dataset"]["num_classes"],
        "status": status,
        "config": cfg,
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def train(cfg: dict, *, hooks: Hooks | None = None, progress: bool = True) -> dict:
    """Train one run to completion (or until `hooks.should_stop()`); returns the result record."""
    hooks = hooks or Hooks()
    run_dir = Path(cfg["paths"]["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg["train"]["device"])
    rank, world_size = distributed.init(device)
    torch.backends.cudnn.benchmark = False  # CPU kernels used here are deterministic; cuDNN autotuning is not

    archive = data_pkg.open_archive(cfg["dataset"]["path"])
    seed = cfg["seed"]
    batch = cfg["train"]["batch"]
    if batch % world_size:
        raise ValueError(f"batch {batch} is not divisible by the {world_size} processes")
    micro = micro_batches(batch, world_size, rank, cfg["train"].get("batch_gpu"))
    conditional = cfg["dataset"]["num_classes"] > 0
    stream_d = data_pkg.BatchStream(archive, seed=seed, batch_size=batch, xflip=cfg["xflip"], device=device)
    stream_g = data_pkg.BatchStream(archive, seed=seed + 1, batch_size=batch, xflip=cfg["xflip"], device=device)

    torch.manual_seed(seed)
    nets = build(cfg, archive, device)
    guard = DivergenceGuard(**cfg["divergence"])
    step, images_seen = 0, 0
    identity = run_identity(cfg)
    state = load_state(run_dir)
    if state is not None and state.get("identity", identity) != identity:
        moved = set_aside(run_dir, state["identity"])
        print(f"{run_dir}: the saved state was trained with another config; set aside as "
              f"{', '.join(p.name for p in moved)} and starting fresh", flush=True)
        state = None
    if state is not None:
        step, images_seen = _restore(nets, state, guard)
        truncate_stats(run_dir, step)
        print(f"resumed from {run_dir / 'state.pt'} at step {step} ({images_seen / 1000:.3f} kimg)", flush=True)
    start_step = step  # logged below: the first step of this invocation (submit -> first step latency)
    total_steps = int(round(cfg["train"]["kimg"] * 1000 / batch))
    steps_per_tick = max(1, int(round(cfg["train"]["tick_kimg"] * 1000 / batch)))
    loss_cfg = cfg["loss"]
    reg_interval = loss_cfg["reg_interval"]
    use_pl = loss_cfg["pl_weight"] > 0 and hasattr(nets.G, "mapping")
    bf16 = device.type == "cuda" and cfg["train"]["mixed_precision"] == "bf16"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    z_dim = nets.G.z_dim

    tick, tick_start, tick_start_kimg = TickStats(), time.time(), images_seen / 1000
    bar = tqdm(total=total_steps, initial=step, disable=not progress or rank != 0, file=sys.stderr,
               mininterval=2.0, desc=f"{cfg['paper']}/{cfg['experiment']}", unit="step")
    status, failure = "ok", None
    try:
        while step < total_steps:
            if distributed.any_rank(hooks.should_stop(), world_size, device):  # all ranks stop together
                if rank == 0:
                    save_state(run_dir, _snapshot(nets, step, images_seen, guard, identity))
                bar.close()
                return {"status": "suspended", "step": step, "kimg": images_seen / 1000}
            kimg = images_seen / 1000
            sched = values_at(cfg["schedule"], kimg)  # evaluated from the restored count BEFORE the step
            seed_step(seed, step)
            real_d, c_d = stream_d.batch(images_seen)
            real_g, c_g = stream_g.batch(images_seen)
            z_d = torch.randn([batch, z_dim]).to(device)
            z_g = torch.randn([batch, z_dim]).to(device)
            c_d = c_d if conditional else None
            c_g = c_g if conditional else None
            beta1 = cfg["optim"]["beta1"]

            # Discriminator.
            apply_reg = step % reg_interval == 0
            _set_optimizer(nets.opt_D, sched["lr"], beta1, sched["beta2"], _lazy_ratio(reg_interval))
            nets.G.requires_grad_(False)
            nets.D.requires_grad_(True)
            nets.opt_D.zero_grad(set_to_none=True)
            d_stats = _accumulate(micro, lambda m: d_step(
                nets, loss_cfg, real_d[m], _sub(c_d, m), z_d[m], _sub(c_d, m), gamma=sched["gamma"],
                aug_p=sched["aug_p"], apply_reg=apply_reg, scale=1 / len(micro), autocast=autocast))
            distributed.average_gradients(nets.D, world_size)
            nets.opt_D.step()

            # Generator.
            _set_optimizer(nets.opt_G, sched["lr"], beta1, sched["beta2"], _lazy_ratio(PL_INTERVAL) if use_pl else 1.0)
            nets.G.requires_grad_(True)
            nets.D.requires_grad_(False)
            nets.opt_G.zero_grad(set_to_none=True)
            g_stats = _accumulate(micro, lambda m: g_step(
                nets, loss_cfg, real_g[m], _sub(c_g, m), z_g[m], _sub(c_g, m), aug_p=sched["aug_p"],
                scale=1 / len(micro), autocast=autocast))
            if use_pl and step % PL_INTERVAL == 0:
                g_stats.update(_accumulate(micro, lambda m: pl_step(
                    nets, loss_cfg, z_g[m], _sub(c_g, m), interval=PL_INTERVAL, scale=1 / len(micro))))
            distributed.average_gradients(nets.G, world_size)
            nets.opt_G.step()

            beta = ema_beta(batch, sched["ema_halflife_kimg"])
            update_ema(nets.G_ema, nets.G, beta)
            step += 1
            images_seen += batch
            bar.update(1)
            if step == start_step + 1:
                print(f"first training step of this invocation done: step {step} at unix time {time.time():.3f}",
                      flush=True)
            values = distributed.average_scalars({**d_stats, **g_stats}, world_size, device)
            values = {**values, **{f"sched_{k}": v for k, v in sched.items()}, "ema_beta": beta}
            tick.add(values)
            guard.check(step=step, kimg=images_seen / 1000,
                        losses={k: values[k] for k in ("loss_d", "loss_g", "loss_d_reg")},
                        fake_grad_sq=d_stats["grad_sq_fake"])

            if step % steps_per_tick == 0 or step == total_steps:
                now = time.time()
                line = {"step": step, "kimg": images_seen / 1000, **tick.means(),
                        "sec_per_kimg": (now - tick_start) / max(images_seen / 1000 - tick_start_kimg, 1e-9),
                        **peak_memory_mb(device)}
                if rank == 0:
                    append_stats(run_dir, line)
                hooks.on_tick(line)
                tick, tick_start, tick_start_kimg = TickStats(), now, images_seen / 1000
                if (step // steps_per_tick) % cfg["train"]["snapshot_ticks"] == 0 and rank == 0:
                    save_state(run_dir, _snapshot(nets, step, images_seen, guard, identity))
    except TrainingDiverged as exc:
        status, failure = "failed", exc
    bar.close()

    result = {
        "status": status,
        "reason": failure.reason if failure else None,
        "step": failure.step if failure else step,
        "kimg": failure.kimg if failure else images_seen / 1000,
        "total_steps": total_steps,
        "provenance": provenance(config=cfg, seeds={"train": seed}, device=str(device)),
    }
    if rank == 0:
        save_state(run_dir, _snapshot(nets, step, images_seen, guard, identity))
        save_network(Path(cfg["paths"]["network"]), nets, cfg, archive, status)
        write_json(cfg["paths"]["result"], result)
    return result


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild G_ema from a network.pt written by `train`."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    G, _ = build_networks(payload["arch"], resolution=payload["resolution"],
                          img_channels=payload["img_channels"], num_classes=payload["num_classes"])
    G.load_state_dict(payload["G_ema"])
    return G.to(device).eval(), payload

