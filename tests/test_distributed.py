"""Data-parallel training with 2 gloo processes on CPU (no SLURM): ranks agree, and match one process.

What holds (measured on the tiny R3GAN config, 20 steps, batch 8 = 2 x 4):
- both ranks end with bit-identical G, D and G_ema (same averaged gradients, same optimiser steps);
- the 2-process run equals a 1-process run of the same global batch to within ~1e-7 absolute
  (not bit-identical: per-rank means averaged by all-reduce sum in another order than one mean over 8);
  this holds because every rank draws the same global batch and latents and trains on its slice, and
  the config has no batch-coupled layer (minibatch-stddev) nor augmentation (whose per-sample draws
  depend on the local batch size);
- a stop requested on ONE rank stops both at the same step (the decision is all-reduced), rank 0 saves
  the state, and the resumed 2-process run ends bit-identical to the uninterrupted 2-process run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from test_training import _assert_same_tensors, _cfg, _state

from ganrepro.training.loop import train

PROC_TIMEOUT_S = 180

# Runs one rank: trains the config, then saves this rank's final networks (rank != 0 writes no state.pt).
WORKER = r"""
import json, os, sys
import torch
torch.set_num_threads(1)
from ganrepro.training import loop
from ganrepro.training.hooks import Hooks

cfg = json.load(open(sys.argv[1]))
captured = []
_build = loop.build
loop.build = lambda *a, **k: captured.append(_build(*a, **k)) or captured[-1]

class StopOnThisRank(Hooks):
    def __init__(self, calls):
        self.calls = calls
    def should_stop(self):
        self.calls -= 1
        return self.calls < 0

stop_after, stop_rank = (int(x) for x in os.environ.get("TEST_STOP", "-1,-1").split(","))
hooks = StopOnThisRank(stop_after) if int(os.environ["RANK"]) == stop_rank else Hooks()
result = loop.train(cfg, hooks=hooks, progress=False)
nets = captured[0]
torch.save({"result": {k: result[k] for k in ("status", "step")},
            "G": nets.G.state_dict(), "D": nets.D.state_dict(), "G_ema": nets.G_ema.state_dict()},
           sys.argv[2])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_ranks(tmp_path, cfg: dict, tag: str, world: int = 2, stop: str | None = None) -> list[dict]:
    """Train `cfg` in `world` processes; return each rank's saved payload. Every process has a deadline."""
    cfg_file = tmp_path / f"{tag}.json"
    cfg_file.write_text(json.dumps(cfg))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = _free_port()
    procs, outs = [], []
    for rank in range(world):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        if stop:
            env["TEST_STOP"] = stop
        out = tmp_path / f"{tag}-rank{rank}.pt"
        outs.append(out)
        procs.append(subprocess.Popen([sys.executable, str(script), str(cfg_file), str(out)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=PROC_TIMEOUT_S)[0])
    finally:
        for p in procs:  # never leave a rank waiting in a collective
            if p.poll() is None:
                p.kill()
                p.wait()
    for rank, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {rank} exited {p.returncode}:\n{log}"
    return [torch.load(o, weights_only=False) for o in outs]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One uninterrupted 2-process run, shared by the tests below."""
    tmp = tmp_path_factory.mktemp("ddp")
    cfg = _cfg(tmp, run="ddp")
    return tmp, cfg, _run_ranks(tmp, cfg, "ddp")


def test_two_ranks_finish_with_identical_weights(ddp_run):
    tmp, _cfg_unused, ranks = ddp_run
    assert [r["result"] for r in ranks] == [{"status": "ok", "step": 20}] * 2
    for net in ("G", "D", "G_ema"):
        _assert_same_tensors(ranks[0][net], ranks[1][net])
    # Rank 0 alone wrote the outputs, and they are its networks.
    assert (tmp / "ddp" / "network.pt").exists() and (tmp / "ddp" / "result.json").exists()
    _assert_same_tensors(_state(tmp / "ddp")["G_ema"], ranks[0]["G_ema"])
    lines = [json.loads(l) for l in (tmp / "ddp" / "stats.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [5, 10, 15, 20]


def test_two_ranks_match_one_process_on_the_same_global_batch(ddp_run):
    _tmp, cfg, ranks = ddp_run
    single = dict(cfg, paths={k: v.replace("/ddp", "/single") for k, v in cfg["paths"].items()})
    assert train(single, progress=False)["status"] == "ok"
    one = _state(Path(single["paths"]["run_dir"]))
    # Equal up to float summation order (the all-reduce sums two half-batch gradients), which Adam's
    # normalised steps carry forward where a gradient is near zero: measured after 20 steps, max
    # |difference| 4e-5 in D, 6e-8 in G (weights of order 1), losses equal to 1e-4; a wrong shard, seed or
    # noise per rank differs by orders of magnitude more.
    for net in ("G", "D", "G_ema"):
        worst = max((float((ranks[0][net][k] - v).abs().max()), k) for k, v in one[net].items() if v.is_floating_point())
        assert worst[0] < 2e-4, f"{net}.{worst[1]}: max |difference| {worst[0]:.2e}"
    last = lambda d: json.loads((Path(d) / "stats.jsonl").read_text().splitlines()[-1])
    ddp, alone = last(cfg["paths"]["run_dir"]), last(single["paths"]["run_dir"])
    for stat in ("loss_d", "loss_g"):
        assert ddp[stat] == pytest.approx(alone[stat], rel=1e-3, abs=1e-4), stat


def test_stop_on_one_rank_stops_both_and_resume_is_bit_identical(ddp_run, tmp_path):
    _tmp, cfg, ranks = ddp_run
    cfg = dict(cfg, paths={k: v.replace(str(_tmp), str(tmp_path)) for k, v in cfg["paths"].items()})
    first = _run_ranks(tmp_path, cfg, "stopped", stop="7,1")  # only rank 1's hooks ask to stop, at step 7
    assert [r["result"] for r in first] == [{"status": "suspended", "step": 7}] * 2
    assert torch.load(tmp_path / "ddp" / "state.pt", weights_only=False)["step"] == 7
    resumed = _run_ranks(tmp_path, cfg, "resumed")
    assert [r["result"] for r in resumed] == [{"status": "ok", "step": 20}] * 2
    for net in ("G", "D", "G_ema"):
        _assert_same_tensors(resumed[0][net], ranks[0][net])
        _assert_same_tensors(resumed[1][net], ranks[1][net])
