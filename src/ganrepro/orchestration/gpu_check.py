"""`ganrepro gpu-check`: the checks a short GPU session runs, printed as one table.

Sections (rows ``section | item | precision | img/s | s/iter | peak MB | result``):

* ``tests``: the CUDA unit tests (``pytest -m cuda`` on the test files that carry the marker);
* ``dag``: one paper's tiny DAG through Snakemake with the device overridden (a copy of params/ whose
  tiny preset says ``device: <device>``, in a scratch workspace; ``GANREPRO_PARAMS`` points at it);
* ``bench``: ``ganrepro bench`` (``orchestration/bench.py``) per family at paper widths (R3GAN config E
  FFHQ-256 and CIFAR-10, config A, EpiGRAF FFHQ-512, CIPS 256 px image-based / patch / multi-stage), in
  fp32 and with the run's mixed precision (bf16; on the CPU it is fp32 too: autocast is CUDA-only);
* ``cost``: the INR Table 1 and EpiGRAF Table 2 cost benchmarks at the paper's settings (fewer rounds),
  each variant's s/iter and peak memory and its time ratio to the reference beside the paper's.

``--device cpu --tiny`` runs the same code on the CPU at the tiny scale (DAG: one training run; bench:
1 step; cost: the tiny settings) in well under a minute: the dry run of the GPU session. A time budget
skips what would not fit (``--budget-s``); the table, ``gpu_check.json`` and the DAG log go to ``--out``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import paths

BENCH_RUNS = (("r3gan", "t4-e-ffhq256"), ("r3gan", "t6-e-cifar10"), ("r3gan", "t2-a-stylegan2"),
              ("epigraf", "t1-epigraf-ffhq512"), ("inr_multistage", "image-ffhq"),
              ("inr_multistage", "patch-ffhq"), ("inr_multistage", "multistage-ffhq"))
PRECISIONS = ("fp32", "bf16")
COST_REFERENCE = {"inr_multistage": "image", "epigraf": "patch64"}
SECTIONS = ("tests", "dag", "bench", "cost")
HEADER = ("section", "item", "precision", "img/s", "s/iter", "peak MB", "result")


@dataclass
class Plan:
    device: str
    scale: str             # bench and cost-bench scale: paper, or tiny for the dry run
    steps: int             # timed bench steps
    cost_rounds: int       # interleaved cost-bench rounds
    dag_paper: str
    dag_one_run: bool      # the dry run's DAG: one training run, not the paper's whole tiny DAG
    cores: int
    budget_s: float
    out: Path


def plan_for(device: str, tiny: bool, out: str, budget_s: float, dag_paper: str) -> Plan:
    return Plan(device=device, scale="tiny" if tiny else "paper", steps=1 if tiny else 3,
                cost_rounds=2 if tiny else 5, dag_paper=dag_paper, dag_one_run=tiny,
                cores=1 if tiny else max(1, os.cpu_count() or 1), budget_s=budget_s, out=Path(out))


def row(section: str, item: str, result: str, precision: str = "-", img_s=None, s_iter=None, peak_mb=None) -> dict:
    return {"section": section, "item": item, "precision": precision, "img/s": img_s, "s/iter": s_iter,
            "peak MB": peak_mb, "result": result}


def device_rows(device: str) -> list[dict]:
    """A FAILED row when ``device`` is CUDA and this machine has none (else nothing)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        return [row("device", device, "FAILED: torch.cuda.is_available() is False (no GPU, or a CPU-only torch "
                                      "build); run on a GPU machine, or use --device cpu --tiny for the dry run")]
    return []


# ----------------------------------------------------------------------------------------------- tests
def cuda_test_files(root: Path) -> list[str]:
    return sorted(str(p) for p in (root / "tests").rglob("test_*.py") if "mark.cuda" in p.read_text())


def check_tests(plan: Plan) -> list[dict]:
    root = paths.workspace_root()
    files = cuda_test_files(root)
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", *files]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    (plan.out / "cuda_tests.log").write_text(out.stdout + out.stderr)
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else f"exit {out.returncode}"
    ok = out.returncode in (0, 5)  # 5: nothing collected
    return [row("tests", f"pytest -m cuda ({len(files)} files)", ("ok: " if ok else "FAILED: ") + summary)]


# ----------------------------------------------------------------------------------------------- dag
def params_with_device(dest: Path, device: str) -> Path:
    """A copy of params/ whose tiny preset runs on ``device``."""
    import shutil

    import yaml

    from ..config.load import params_root

    shutil.copytree(params_root(), dest)
    tiny = dest / "scales" / "tiny.yaml"
    data = yaml.safe_load(tiny.read_text())
    data["device"] = device
    tiny.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def dag_targets(plan: Plan) -> list[str]:
    """The dry run's single training run (the paper's first experiment), else the whole paper."""
    if not plan.dag_one_run:
        return []
    from ..config import list_experiments

    return [paths.network("tiny", plan.dag_paper, list_experiments(plan.dag_paper)[0])]


def check_dag(plan: Plan) -> list[dict]:
    root = paths.workspace_root()
    with tempfile.TemporaryDirectory(prefix="ganrepro-gpu-check-dag-") as tmp:
        params = params_with_device(Path(tmp) / "params", plan.device)
        work = Path(tmp) / "work"
        work.mkdir()
        env = dict(os.environ, GANREPRO_PARAMS=str(params), MPLCONFIGDIR=str(work / ".mpl"))
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        cmd = [sys.executable, "-m", "snakemake", *dag_targets(plan), "-s", str(root / "Snakefile"), "--directory",
               str(work), "--cores", str(plan.cores), "--config", "scale=tiny", f"papers=[{plan.dag_paper}]"]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        (plan.out / "dag.log").write_text(out.stdout + out.stderr)
        done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", out.stderr)
        jobs = f"{done[-1][0]} jobs" if done else "nothing to do" if "Nothing to be done" in out.stderr else "?"
        what = "one training run" if plan.dag_one_run else "whole tiny DAG"
        result = f"ok: {jobs} in {wall:.0f} s" if out.returncode == 0 else f"FAILED (exit {out.returncode}, dag.log)"
        return [row("dag", f"{plan.dag_paper} tiny, {what}, device {plan.device}", result)]


# ----------------------------------------------------------------------------------------------- bench
def check_bench(plan: Plan, deadline: float) -> list[dict]:
    from .bench import bench_one

    rows = []
    with tempfile.TemporaryDirectory(prefix="ganrepro-gpu-check-bench-") as tmp:
        for paper, exp in BENCH_RUNS:
            for precision in PRECISIONS:
                item = f"{paper} {exp}"
                if time.monotonic() > deadline:
                    rows.append(row("bench", item, "skipped: over the time budget", precision))
                    continue
                try:
                    r = bench_one(paper, exp, plan.scale, steps=plan.steps, device=plan.device,
                                  root=Path(tmp) / precision, precision=precision)
                except Exception as exc:  # one failing config must not hide the others
                    rows.append(row("bench", item, f"FAILED: {type(exc).__name__}: {exc}"[:120], precision))
                    continue
                _release_cuda_cache(plan.device)
                peak = r["peak_gpu_mem_mb"] if r["peak_gpu_mem_mb"] is not None else r["peak_rss_mb"]
                rows.append(row("bench", f"{item} ({r['resolution']} px, batch {r['batch']})",
                                f"ok: {r['device']}, {'GPU' if r['peak_gpu_mem_mb'] is not None else 'RSS'} memory",
                                precision, r["images_per_s"], r["sec_per_step"], peak))
    return rows


def _release_cuda_cache(device: str) -> None:
    """The next config's peak starts from an empty cache (no OOM from the previous one's blocks)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


# ----------------------------------------------------------------------------------------------- cost
def check_cost(plan: Plan, deadline: float) -> list[dict]:
    import importlib

    from ..stages.cost_bench import bench_settings, cost_bench_spec

    rows = []
    for paper, ref in COST_REFERENCE.items():
        if time.monotonic() > deadline:
            rows.append(row("cost", paper, "skipped: over the time budget"))
            continue
        settings = {**bench_settings(paper, plan.scale), "device": plan.device, "iters": plan.cost_rounds}
        if plan.device == "cpu" and settings.get("memory") == "cuda":
            settings["memory"] = "rss"
        module = importlib.import_module(cost_bench_spec(paper)["module"])
        try:
            result = module.run(settings)
        except Exception as exc:  # e.g. out of memory at paper size: the row says so, the table is still printed
            rows.append(row("cost", paper, f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
            continue
        (plan.out / f"cost_{paper}.txt").write_text(result["text"] + "\n")
        rows += cost_rows(paper, result, ref, module)
    return rows


def cost_rows(paper: str, result: dict, ref: str, module) -> list[dict]:
    """One row per benchmarked variant: median s/iter, peak memory, time / reference per round."""
    rows, reference = [], result["rows"][ref]
    for key, r in result["rows"].items():
        a, b = (reference, r) if paper == "inr_multistage" else (r, reference)  # as the paper reports them
        ratio = module.time_ratio(a, b) if key != ref and "sec_per_iter_samples" in r else None
        where = f"{ref} / {key}" if paper == "inr_multistage" else f"{key} / {ref}"
        text = (f"time {where} {ratio['median']:.2f} [{ratio['min']:.2f}-{ratio['max']:.2f}]" if ratio
                else "reference")
        rows.append(row("cost", f"{paper} {key}", f"{text}; {result['memory']} memory, {result['timer']}",
                        s_iter=r["sec_per_iter"], peak_mb=r["peak_mb"]))
    return rows


# ----------------------------------------------------------------------------------------------- table
def _num(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_rows(rows: list[dict]) -> str:
    cells = [HEADER] + [(r["section"], r["item"], r["precision"], _num(r["img/s"], 1), _num(r["s/iter"], 4),
                         _num(r["peak MB"], 0), r["result"]) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(HEADER))).rstrip() for c in cells)


def run_gpu_check(device: str = "cuda", tiny: bool = False, out: str = paths.GPU_CHECK, budget_s: float = 400,
                  sections=SECTIONS, dag_paper: str = "inr_multistage") -> list[dict]:
    plan = plan_for(device, tiny, out, budget_s, dag_paper)
    plan.out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + budget_s
    rows: list[dict] = device_rows(device)
    if rows:  # no CUDA here: every cuda test would skip and every run would fall back to the CPU, all "ok"
        print(write_results(plan, rows), flush=True)
        return rows
    for section in sections:
        if section in ("tests", "dag"):
            rows += (check_tests if section == "tests" else check_dag)(plan)
        else:
            rows += (check_bench if section == "bench" else check_cost)(plan, deadline)
        text = write_results(plan, rows)  # after every section: a run cut short still leaves its rows
    print(text, flush=True)
    return rows


def write_results(plan: Plan, rows: list[dict]) -> str:
    text = f"ganrepro gpu-check: device {plan.device}, scale {plan.scale}\n" + format_rows(rows)
    (plan.out / "gpu_check.txt").write_text(text + "\n")
    (plan.out / "gpu_check.json").write_text(json.dumps({"plan": {**asdict(plan), "out": str(plan.out)},
                                                         "rows": rows}, indent=1) + "\n")
    return text
