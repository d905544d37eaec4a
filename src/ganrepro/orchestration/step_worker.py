"""A training-step worker for ``bench_compare``: one config, the loop's own step, CPU time per step.

Run as a script with the tree under test first on ``sys.path`` (``PYTHONPATH=<tree>/src``), so the
same file times any commit: it uses only what ``training/loop.py`` has had since before the speed work
(``build``, ``seed_step``, ``micro_batches``, ``_run_phase``, ``update_ema``). It builds the networks
and the objective once, then answers requests on stdin: a number N runs the next N steps and prints
one JSON line ``{"cpu": [s per step], "stats": [the step's stats]}``; ``quit`` ends it. The stats let
the caller check that both trees compute the same numbers.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path


def _load(args):
    import torch

    from ganrepro.config import resolve_run
    from ganrepro.data import open_archive
    from ganrepro.objectives import objective_for
    from ganrepro.orchestration.bench import _bench_archive
    from ganrepro.training import loop
    from ganrepro.training.ada import AdaptiveAugment

    torch.set_num_threads(args.threads)
    cfg = copy.deepcopy(resolve_run(args.paper, args.experiment, args.scale))
    cfg["train"]["device"] = "cpu"
    if args.batch:
        cfg["train"]["batch"] = args.batch
        cfg["train"]["batch_gpu"] = None
    root = Path(args.tmp)
    root.mkdir(parents=True, exist_ok=True)
    cfg["dataset"]["path"] = _bench_archive(root, cfg)
    archive = open_archive(cfg["dataset"]["path"])
    device = torch.device("cpu")
    torch.manual_seed(cfg["seed"])
    nets = loop.build(cfg, archive, device)
    if cfg.get("init_from"):  # a later stage's teacher: this run's own initial G stands in for the predecessor's
        path = root / f"{args.experiment}-init.pt"
        torch.save({"G": nets.G.state_dict(), "G_ema": nets.G_ema.state_dict(), "D": nets.D.state_dict()}, path)
        cfg["init_from"] = {**cfg["init_from"], "network": str(path)}
    objective = objective_for(cfg)(cfg, nets, archive, device)
    return cfg, nets, objective, AdaptiveAugment.from_cfg(cfg)


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--paper", required=True)
    p.add_argument("--experiment", required=True)
    p.add_argument("--scale", required=True)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tmp", required=True)
    args = p.parse_args(argv)
    import ganrepro
    from ganrepro.training import loop
    from ganrepro.training.ema import update_ema
    from ganrepro.training.schedules import ema_beta, values_at

    cfg, nets, objective, ada = _load(args)
    phases, batch = objective.phases(), cfg["train"]["batch"]
    micro = loop.micro_batches(batch, 1, 0, cfg["train"].get("batch_gpu"))
    print(json.dumps({"ready": str(Path(ganrepro.__file__).resolve())}), flush=True)
    step = 0
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        cpu, all_stats = [], []
        for _ in range(int(line)):
            t0 = time.process_time()
            sched = values_at(cfg["schedule"], step * batch / 1000)
            if ada is not None:
                sched = ada.apply(sched)
            loop.seed_step(cfg["seed"], step)
            data = objective.make_batch(step, step * batch, sched)
            stats = {}
            for phase in phases:
                if step % phase.interval == 0:
                    stats.update(loop._run_phase(phase, nets, objective, data, sched, micro, 1, cfg["optim"],
                                                 cfg["train"]["sanitize_gradients"]))
            update_ema(nets.G_ema, nets.G, ema_beta(batch, sched["ema_halflife_kimg"]))
            step += 1
            if ada is not None:
                ada.observe(step, stats)
            cpu.append(time.process_time() - t0)
            all_stats.append({k: float(v) for k, v in stats.items()})
        print(json.dumps({"cpu": cpu, "stats": all_stats}), flush=True)


if __name__ == "__main__":
    main()
