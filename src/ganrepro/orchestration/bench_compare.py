"""`ganrepro bench --compare REV`: training-step CPU time of this tree against commit REV, side by side.

REV is checked out into a temporary worktree (``git worktree add --detach``). For every config a
worker (``step_worker.py``, run with each tree's ``src`` first on the path) is started per tree; both
build the same networks and objective from the same seeds, and are then asked, alternately, for
``--repeats`` blocks of steps (interleaved, so a busy machine slows both alike). Per config it prints
the median CPU time per step of each tree with its spread (min-max over blocks), the ratio
old / new, and the largest relative difference between the two trees' step statistics (losses,
logits, gradient norms: the same numbers are computed, up to float rounding).

A config is ``paper:experiment:scale[:batch]``; the defaults are issue 17's: R3GAN config E at smoke
widths and at paper widths (batch 4, 64 px), config A, the EpiGRAF step and the multi-stage INR step.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("step_worker.py")

# (label, paper, experiment, scale, batch or None, steps per block, warm-up steps)
DEFAULT_CONFIGS = (
    ("E smoke", "r3gan", "t2-e-inverted", "smoke", None, 8, 2),
    ("E paper 64px b4", "r3gan", "t5-e-ffhq64", "paper", 4, 1, 1),
    ("A smoke", "r3gan", "t2-a-stylegan2", "smoke", None, 16, 16),
    ("EpiGRAF smoke", "epigraf", "t1-epigraf-ffhq256", "smoke", None, 16, 16),
    ("INR stage 3 smoke", "inr_multistage", "multistage-ffhq", "smoke", None, 16, 16),
)


@dataclass
class Worker:
    proc: subprocess.Popen

    @classmethod
    def start(cls, tree: Path, config: tuple, tmp: Path, threads: int) -> "Worker":
        _, paper, experiment, scale, batch, _, _ = config
        cmd = [sys.executable, str(WORKER), "--paper", paper, "--experiment", experiment, "--scale", scale,
               "--threads", str(threads), "--tmp", str(tmp)] + (["--batch", str(batch)] if batch else [])
        env = {**_environ(), "PYTHONPATH": str(tree / "src"), "OMP_NUM_THREADS": str(threads)}
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
        ready = json.loads(proc.stdout.readline() or "{}")
        if not ready.get("ready", "").startswith(str(tree.resolve())):
            proc.kill()
            raise RuntimeError(f"the worker for {tree} imported ganrepro from {ready.get('ready')!r}")
        return cls(proc)

    def run(self, steps: int) -> dict:
        self.proc.stdin.write(f"{steps}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _environ() -> dict:
    import os

    return dict(os.environ)


def _max_rel_diff(a: list[dict], b: list[dict]) -> float:
    worst = 0.0
    for sa, sb in zip(a, b):
        for k in set(sa) & set(sb):
            worst = max(worst, abs(sa[k] - sb[k]) / max(abs(sa[k]), abs(sb[k]), 1e-6))
    return worst


def compare_config(config: tuple, trees: dict[str, Path], *, repeats: int, threads: int, tmp: Path) -> dict:
    """Interleaved blocks in the two trees' workers; CPU s per step per block, and the stats' agreement."""
    label, _, _, _, _, block, warmup = config
    workers = {name: Worker.start(tree, config, tmp / name, threads) for name, tree in trees.items()}
    try:  # the warm-up steps' stats are compared (later steps drift apart: training amplifies rounding)
        stats = {name: w.run(warmup)["stats"] for name, w in workers.items()}
        times: dict[str, list[float]] = {name: [] for name in workers}
        for r in range(repeats):
            order = list(workers) if r % 2 == 0 else list(workers)[::-1]
            for name in order:
                out = workers[name].run(block)
                times[name].append(sum(out["cpu"]) / block)
    finally:
        for w in workers.values():
            w.stop()
    old, new = (statistics.median(times[n]) for n in ("old", "new"))
    return {"config": label, "old_s": old, "new_s": new, "ratio": old / new,
            "old_range": (min(times["old"]), max(times["old"])), "new_range": (min(times["new"]), max(times["new"])),
            "max_rel_diff": _max_rel_diff(stats["old"], stats["new"]), "blocks": repeats, "steps_per_block": block}


def _worktree(repo: Path, rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(where), rev], check=True,
                   capture_output=True, text=True)
    return where


def _repo_root() -> Path:
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).parent)
    return Path(out.stdout.strip())


def run_compare(rev: str, *, configs=None, repeats: int = 5, threads: int = 1) -> list[dict]:
    repo = _repo_root()
    selected = [c for c in DEFAULT_CONFIGS if not configs or c[0] in configs or c[2] in configs]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganrepro-compare-") as tmp:
        old = _worktree(repo, rev, Path(tmp) / "old")
        try:
            print(f"old = {rev} ({old}), new = this tree ({repo}); CPU s per step, median [min-max] of "
                  f"{repeats} interleaved blocks, {threads} thread(s)")
            print(f"{'config':<20} {'old s/step':>22} {'new s/step':>22} {'old/new':>8} {'warm-up stats diff':>18}")
            for config in selected:
                r = compare_config(config, {"old": old, "new": repo}, repeats=repeats, threads=threads,
                                   tmp=Path(tmp) / "data")
                rows.append(r)
                fmt = lambda m, rg: f"{m:.4f} [{rg[0]:.4f}-{rg[1]:.4f}]"  # noqa: E731
                print(f"{r['config']:<20} {fmt(r['old_s'], r['old_range']):>22} {fmt(r['new_s'], r['new_range']):>22} "
                      f"{r['ratio']:>8.2f} {r['max_rel_diff']:>18.1e}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(old)], check=False,
                           capture_output=True)
    return rows


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rev", help="the commit to compare this tree against (e.g. HEAD~3, main)")
    p.add_argument("--configs", nargs="*", help="labels or experiment names of DEFAULT_CONFIGS to run (default: all)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    run_compare(a.rev, configs=a.configs, repeats=a.repeats, threads=a.threads)


if __name__ == "__main__":
    main()
