"""The training loop. Knows nothing of Snakemake, DVC or SLURM: a resolved config and a run directory.

One loop for every paper: seeding, micro-batches, data parallelism, optimisers, EMA, snapshots, the
divergence guard and the scheduler hooks live here; what a step computes is the run's objective
(``ganrepro.objectives``, chosen by ``objective:`` in params).

Resume by re-running the same command: the loop restores `state.pt` and continues. Data order, latent
codes, augmentation and every other random draw are functions of (seed, step), so an interrupted and
resumed run ends bit-identical to an uninterrupted one on CPU.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .. import data as data_pkg
from ..config.identity import run_identity
from ..errors import TrainingDiverged
from ..models import build_networks
from ..models.precision import sanitize_gradients
from ..objectives import Nets, get_objective, objective_for, take
from ..paths import kept_network
from ..provenance import provenance
from ..utils_io import atomic_write, write_json
from . import distributed
from .ada import AdaptiveAugment
from .augment import AugmentPipe
from .divergence import DivergenceGuard
from .ema import make_ema, update_ema
from .hooks import Hooks
from .schedules import ema_beta, values_at
from .state import load_state, save_state, set_aside
from .stats import TickStats, append_stats, peak_memory_mb, truncate_stats


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


def set_threads(cfg: dict) -> None:
    """The intra-op thread count comes from the resolved config, so numerics do not depend on the launcher."""
    threads = cfg["train"].get("threads")
    if threads:
        torch.set_num_threads(int(threads))


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


def _set_optimizer(opt: torch.optim.Optimizer, settings: dict, sched: dict, ratio: float) -> None:
    """lr, betas from the net's optimiser settings (a number, or the name of a schedule entry); lr x ``lr_mult``."""
    def value(v):
        return sched[v] if isinstance(v, str) else float(v)

    for group in opt.param_groups:
        group["lr"] = value(settings["lr"]) * float(settings.get("lr_mult", 1.0)) * ratio
        group["betas"] = (value(settings["beta1"]) ** ratio, value(settings["beta2"]) ** ratio)


def _import_paper_of(cfg: dict) -> None:
    """Import the modules the run's paper lists (they register its family and objective): a process that did not
    resolve the run itself (a SLURM job unpickling its config, a sweep's spawned worker, a loaded network)."""
    if cfg.get("paper"):
        from ..config.plugins import import_paper

        import_paper(cfg["paper"])


def build(cfg: dict, archive, device: torch.device) -> Nets:
    _import_paper_of(cfg)
    G, D = build_networks(cfg["model"], resolution=archive.resolution, img_channels=archive.channels,
                          num_classes=cfg["dataset"]["num_classes"])
    G, D = G.to(device), D.to(device)
    augment = AugmentPipe.from_preset(cfg["augment"]).to(device)
    opt = {}
    for name, net in (("G", G), ("D", D)):
        o = cfg["optim"][name]
        opt[name] = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.0, 0.99), eps=float(o["eps"]))
    return Nets(G=G, D=D, G_ema=make_ema(G), augment=augment, opt=opt)


def init_from_network(nets: Nets, path: str | Path) -> None:
    """Start G, G_ema (and D when saved) from another run's network.pt (e.g. the previous stage)."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    nets.G.load_state_dict(payload["G"] if "G" in payload else payload["G_ema"])
    nets.G_ema.load_state_dict(payload["G_ema"])
    if "D" in payload:
        nets.D.load_state_dict(payload["D"])


def _snapshot(nets: Nets, objective, step: int, images_seen: int, guard: DivergenceGuard, identity: str,
              ada: AdaptiveAugment | None = None) -> dict:
    return {
        "G": nets.G.state_dict(), "D": nets.D.state_dict(), "G_ema": nets.G_ema.state_dict(),
        "opt": {k: o.state_dict() for k, o in nets.opt.items()}, "objective": objective.state_dict(),
        "step": step, "images_seen": images_seen, "guard": guard.state_dict(), "identity": identity,
        **({"ada": ada.state_dict()} if ada is not None else {}),
    }


def _restore(nets: Nets, objective, state: dict, guard: DivergenceGuard,
             ada: AdaptiveAugment | None = None) -> tuple[int, int]:
    nets.G.load_state_dict(state["G"])
    nets.D.load_state_dict(state["D"])
    nets.G_ema.load_state_dict(state["G_ema"])
    for k, o in nets.opt.items():
        o.load_state_dict(state["opt"][k])
    objective.load_state_dict(state.get("objective", {}))
    guard.load_state_dict(state.get("guard", {}))
    if ada is not None:
        ada.load_state_dict(state.get("ada", {}))
    return int(state["step"]), int(state["images_seen"])


def save_network(path: Path, nets: Nets, cfg: dict, archive, status: str) -> None:
    """G_ema for evaluation, plus G and D so a later run (a next training stage) can start from them."""
    payload = {
        "G_ema": nets.G_ema.state_dict(), "G": nets.G.state_dict(), "D": nets.D.state_dict(),
        "arch": cfg["model"], "objective": cfg["objective"],
        "resolution": archive.resolution, "img_channels": archive.channels,
        "num_classes": cfg["dataset"]["num_classes"], "status": status, "config": cfg,
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def milestones(total_steps: int, count: int) -> set[int]:
    """The steps at which a learning run keeps a copy of G_ema: `count` evenly spaced, the last included."""
    return {max(1, round(total_steps * k / count)) for k in range(1, count + 1)} if count else set()


def save_milestone(run_dir: Path, nets: Nets, cfg: dict, archive, step: int, images_seen: int) -> Path:
    """runs/.../networks/network-<step>.pt: G_ema as `network.pt` stores it, with the images shown."""
    path = kept_network(run_dir, step)
    payload = {"G_ema": nets.G_ema.state_dict(), "arch": cfg["model"], "objective": cfg["objective"],
               "resolution": archive.resolution, "img_channels": archive.channels,
               "num_classes": cfg["dataset"]["num_classes"], "status": "ok", "config": cfg,
               "step": step, "kimg": images_seen / 1000}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def _run_phase(phase, nets: Nets, objective, batch: dict, sched: dict, micro: list[slice], world_size: int,
               optim_cfg: dict, sanitize: bool) -> dict:
    net = nets.net(phase.net)
    other = nets.net("D" if phase.net == "G" else "G")
    _set_optimizer(nets.opt[phase.net], optim_cfg[phase.net], sched, phase.lr_ratio)
    other.requires_grad_(False)
    net.requires_grad_(True)
    nets.opt[phase.net].zero_grad(set_to_none=True)
    totals: dict = {}
    for m in micro:  # gradients add up over micro-batches; stats are averaged
        for key, value in objective.accumulate_gradients(phase.name, take(batch, m), sched, 1 / len(micro)).items():
            totals[key] = totals.get(key, 0.0) + value / len(micro)
    distributed.average_gradients(net, world_size)
    if sanitize:  # stylegan2-ada / R3GAN: NaN -> 0, +-inf -> +-1e5 before the step
        sanitize_gradients(net)
    nets.opt[phase.net].step()
    return totals


def train(cfg: dict, *, hooks: Hooks | None = None, progress: bool = True) -> dict:
    """Train one run to completion (or until `hooks.should_stop()`); returns the result record."""
    hooks = hooks or Hooks()
    set_threads(cfg)
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

    torch.manual_seed(seed)
    nets = build(cfg, archive, device)
    if cfg.get("init_from"):
        init_from_network(nets, cfg["init_from"]["network"])
    objective = objective_for(cfg)(cfg, nets, archive, device)
    phases = objective.phases()
    guard = DivergenceGuard(**cfg["divergence"])
    ada = AdaptiveAugment.from_cfg(cfg)  # None unless the run adapts its augmentation probability (ADA)
    step, images_seen = 0, 0
    identity = run_identity(cfg)
    state = load_state(run_dir)
    if state is not None and state.get("identity", identity) != identity:
        moved = set_aside(run_dir, state["identity"])
        print(f"{run_dir}: the saved state was trained with another config; set aside as "
              f"{', '.join(p.name for p in moved)} and starting fresh", flush=True)
        state = None
    if state is not None:
        step, images_seen = _restore(nets, objective, state, guard, ada)
        truncate_stats(run_dir, step)
        print(f"resumed from {run_dir / 'state.pt'} at step {step} ({images_seen / 1000:.3f} kimg)", flush=True)
    start_step = step  # logged below: the first step of this invocation (submit -> first step latency)
    total_steps = int(round(cfg["train"]["kimg"] * 1000 / batch))
    steps_per_tick = max(1, int(round(cfg["train"]["tick_kimg"] * 1000 / batch)))
    keep = milestones(total_steps, cfg["train"].get("keep_networks", 0))

    tick, tick_start, tick_start_kimg = TickStats(), time.time(), images_seen / 1000
    bar = tqdm(total=total_steps, initial=step, disable=not progress or rank != 0, file=sys.stderr,
               mininterval=2.0, desc=f"{cfg['paper']}/{cfg['experiment']}", unit="step")
    status, failure = "ok", None
    try:
        while step < total_steps:
            if distributed.any_rank(hooks.should_stop(), world_size, device):  # all ranks stop together
                if rank == 0:
                    save_state(run_dir, _snapshot(nets, objective, step, images_seen, guard, identity, ada))
                bar.close()
                return {"status": "suspended", "step": step, "kimg": images_seen / 1000}
            sched = values_at(cfg["schedule"], images_seen / 1000)  # from the restored count BEFORE the step
            if ada is not None:
                sched = ada.apply(sched)
            seed_step(seed, step)
            data = objective.make_batch(step, images_seen, sched)
            stats: dict = {}
            for phase in phases:
                if step % phase.interval == 0:
                    stats.update(_run_phase(phase, nets, objective, data, sched, micro, world_size, cfg["optim"],
                                            cfg["train"]["sanitize_gradients"]))

            beta = ema_beta(batch, sched["ema_halflife_kimg"])
            update_ema(nets.G_ema, nets.G, beta)
            step += 1
            images_seen += batch
            bar.update(1)
            if step in keep and rank == 0:
                save_milestone(run_dir, nets, cfg, archive, step, images_seen)
            if step == start_step + 1:
                print(f"first training step of this invocation done: step {step} at unix time {time.time():.3f}",
                      flush=True)
            values = distributed.average_scalars(stats, world_size, device)  # every rank sees the same values
            if ada is not None:
                ada.observe(step, values)
            values = {**values, **{f"sched_{k}": v for k, v in sched.items()}, "ema_beta": beta}
            tick.add(values)
            losses, fake_grad_sq = objective.guard_values(values)
            guard.check(step=step, kimg=images_seen / 1000, losses=losses, fake_grad_sq=fake_grad_sq)

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
                    save_state(run_dir, _snapshot(nets, objective, step, images_seen, guard, identity, ada))
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
        save_state(run_dir, _snapshot(nets, objective, step, images_seen, guard, identity, ada))
        save_network(Path(cfg["paths"]["network"]), nets, cfg, archive, status)
        write_json(cfg["paths"]["result"], result)
    return result


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild G_ema from a network.pt written by `train`."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    _import_paper_of(payload.get("config", {}))
    G, _ = build_networks(payload["arch"], resolution=payload["resolution"],
                          img_channels=payload["img_channels"], num_classes=payload["num_classes"])
    G.load_state_dict(payload["G_ema"])
    return G.to(device).eval(), payload


def generator_sampler(G: torch.nn.Module, payload: dict):
    """``sample(z, c) -> images``: full images of a loaded generator, drawn as its objective draws them."""
    cls = get_objective(payload.get("objective", "r3gan"))
    cfg = payload["config"]
    return lambda z, c=None: cls.sample(cfg, G, z, c)
