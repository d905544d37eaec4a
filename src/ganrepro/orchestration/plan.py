"""`ganrepro plan`: every training job of a scale with its GPUs and a GPU-hour estimate, plus a budget."""

from __future__ import annotations

from .dag import PipelineDAG


def plan_jobs(scale: str, papers: list[str] | None = None) -> list[dict]:
    dag = PipelineDAG(scale, tuple(papers or ("r3gan",)))
    jobs = []
    for (paper, exp), cfg in dag.runs.items():
        gph = cfg["resources"]["gpu_hours_paper"]
        jobs.append({
            "paper": paper,
            "experiment": exp,
            "tables": cfg["tables"],
            "dataset": cfg["dataset"]["key"],
            "resolution": cfg["dataset"]["resolution"],
            "kimg": cfg["train"]["kimg"],
            "batch": cfg["train"]["batch"],
            "gpus": dag.gpus(paper, exp),
            "gpu_hours": round(gph * cfg["schedule"]["time_ratio"], 2) if gph else None,
            "runtime_minutes": dag.runtime_minutes(paper, exp),
        })
    return jobs


def format_plan(jobs: list[dict], scale: str) -> str:
    lines = [f"{'job':<32} {'dataset':<13} {'res':>4} {'kimg':>9} {'batch':>5} {'GPUs':>4} {'GPU-h':>9}"]
    for j in jobs:
        gph = f"{j['gpu_hours']:.1f}" if j["gpu_hours"] is not None else "n/a"
        lines.append(f"{j['paper'] + '/' + j['experiment']:<32} {j['dataset']:<13} {j['resolution']:>4} "
                     f"{j['kimg']:>9.1f} {j['batch']:>5} {j['gpus']:>4} {gph:>9}")
    total = sum(j["gpu_hours"] or 0 for j in jobs)
    lines.append("")
    lines.append(f"budget ({scale}): {len(jobs)} training jobs, {total:,.1f} GPU-hours estimated from the "
                 f"papers' reported compute (scaled by images shown), {total / 24:,.1f} GPU-days")
    if scale != "paper":
        lines.append("(GPU-hours are the paper-compute share of these runs; at this scale they run on CPU)")
    return "\n".join(lines)
