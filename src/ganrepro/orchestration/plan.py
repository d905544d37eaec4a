"""`ganrepro plan`: every training job of a scale with its GPUs and a GPU-hour estimate, plus a budget.

Takes a built ``PipelineDAG`` (no import of dag.py here: the DAG imports this module lazily).
"""

from __future__ import annotations


def plan_jobs(dag) -> list[dict]:
    jobs = []
    for paper, exp in dag.trained_runs():  # a run shared by two experiments is one job
        cfg = dag.run(paper, exp)
        gph = dag.gpu_hours(paper, exp)
        jobs.append({
            "paper": paper,
            "experiment": exp,
            "tables": cfg["tables"],
            "dataset": cfg["dataset"]["key"],
            "resolution": cfg["dataset"]["resolution"],
            "kimg": cfg["train"]["kimg"],
            "batch": cfg["train"]["batch"],
            "gpus": dag.gpus(paper, exp),
            "gpu_hours": round(gph, 2) if gph is not None else None,
            "runtime_minutes": dag.runtime_minutes(paper, exp),
        })
    return jobs


def format_plan(jobs: list[dict], scale: str) -> str:
    lines = [f"{'job':<40} {'dataset':<15} {'res':>4} {'kimg':>9} {'batch':>5} {'GPUs':>4} {'GPU-h':>9}"]
    for j in jobs:
        gph = f"{j['gpu_hours']:.1f}" if j["gpu_hours"] is not None else "n/a"
        lines.append(f"{j['paper'] + '/' + j['experiment']:<40} {j['dataset']:<15} {j['resolution']:>4} "
                     f"{j['kimg']:>9.1f} {j['batch']:>5} {j['gpus']:>4} {gph:>9}")
    total = sum(j["gpu_hours"] or 0 for j in jobs)
    lines.append("")
    lines.append(f"budget ({scale}): {len(jobs)} training jobs, {total:,.1f} GPU-hours estimated from the "
                 f"papers' reported compute (scaled by images shown), {total / 24:,.1f} GPU-days")
    if scale != "paper":
        lines.append("(GPU-hours are the paper-compute share of these runs; at this scale they run on CPU)")
    return "\n".join(lines)
