"""The pipeline's DAG as data, derived from params/: used by the Snakefile, dvc.yaml and `ganrepro plan`.

Every path a rule declares comes from here, so Snakemake, DVC and the CLI agree on one layout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from ..config import instrument_paths, list_experiments, load_params, resolve_run
from ..config.load import Params

# Tables regenerated per paper, and the figures: (paper -> names). Table names match params/reported.
FIGURES = {"r3gan": ["fig1_g_loss", "training_curves"]}


@dataclass
class PipelineDAG:
    scale: str
    papers: tuple[str, ...] = ("r3gan",)

    @cached_property
    def params(self) -> Params:
        return load_params()

    @cached_property
    def runs(self) -> dict[tuple[str, str], dict]:
        return {(p, e): resolve_run(p, e, self.scale, self.params) for p in self.papers
                for e in list_experiments(p, self.params)}

    def run(self, paper: str, experiment: str) -> dict:
        return self.runs[(paper, experiment)]

    def experiments(self, paper: str) -> list[str]:
        return [e for (p, e) in self.runs if p == paper]

    @property
    def datasets(self) -> list[str]:
        return sorted({cfg["dataset"]["key"] for cfg in self.runs.values()})

    def tables(self, paper: str) -> list[str]:
        return list(self.params.reported[paper]["tables"])

    def table_experiments(self, paper: str, table: str) -> list[str]:
        rows = self.params.reported[paper]["tables"][table]["rows"]
        from_rows = [r["experiment"] for r in rows if r.get("experiment")]
        from_exps = [e for e in self.experiments(paper) if table in self.run(paper, e)["tables"]]
        return sorted(set(from_rows) | set(from_exps))

    def figures(self, paper: str) -> list[str]:
        return FIGURES.get(paper, [])

    # --- paths ---------------------------------------------------------------------------------
    def dataset_manifest(self, key: str) -> str:
        return f"data/{self.scale}/{key}/manifest.json"

    def instruments(self, paper: str, experiment: str) -> list[str]:
        """Files the evaluation of this run needs besides the network (classifier / extractor)."""
        ev = self.run(paper, experiment)["eval"]
        if ev["kind"] == "modes":
            return [ev["digit_classifier"]]
        return [ev["extractor"]["weights"]] if ev["extractor"]["kind"] == "cnn" else []

    def instrument_paths(self) -> dict:
        return instrument_paths(self.scale)

    def param_counts(self, paper: str) -> str:
        return f"results/metrics/params/{paper}.json"

    def table_files(self, paper: str, table: str) -> list[str]:
        """CSV (long format), markdown (the paper's layout), JSON (reproduced cells: DVC metrics)."""
        return [f"results/tables/{paper}/{table}.{ext}" for ext in ("csv", "md", "json")]

    def figure_file(self, paper: str, figure: str) -> str:
        return f"results/figures/{paper}/{figure}.png"

    def final_targets(self) -> list[str]:
        out = []
        for paper in self.papers:
            for table in self.tables(paper):
                out += self.table_files(paper, table)
            out += [self.figure_file(paper, f) for f in self.figures(paper)]
        return out

    # --- rerun triggers and resources ------------------------------------------------------------
    def fingerprint(self, paper: str, experiment: str) -> str:
        """Hash of the experiment-defining values only (not paths), so edits that matter trigger reruns."""
        cfg = dict(self.run(paper, experiment))
        for key in ("paths", "tables", "resources", "eval"):  # not training-defining
            cfg.pop(key, None)
        return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]

    def gpus(self, paper: str, experiment: str) -> int:
        cfg = self.run(paper, experiment)
        return cfg["resources"]["gpus"] if cfg["train"]["device"] == "cuda" else 0

    def train_launcher(self, paper: str, experiment: str) -> str:
        """`ganrepro`, or torchrun with one process per GPU when a training job has several."""
        gpus = self.gpus(paper, experiment)
        if gpus <= 1:
            return "ganrepro"
        return f"torchrun --standalone --nproc_per_node={gpus} -m ganrepro.cli"

    def gpu_hours_label(self, paper: str, experiment: str) -> str:
        """GPU-hours this job is expected to take (paper compute x share of images shown), for display."""
        cfg = self.run(paper, experiment)
        hours = cfg["resources"]["gpu_hours_paper"]
        return "n/a" if not hours else f"{hours * cfg['schedule']['time_ratio']:.1f}"

    def budget_summary(self) -> str:
        from .plan import format_plan, plan_jobs

        return format_plan(plan_jobs(self.scale, list(self.papers)), self.scale).splitlines()[-1]

    def runtime_minutes(self, paper: str, experiment: str) -> int:
        """Wall-time request for a training job: the paper's GPU-hours spread over its GPUs, +25%."""
        cfg = self.run(paper, experiment)
        hours = cfg["resources"]["gpu_hours_paper"]
        if cfg["train"]["device"] != "cuda" or not hours:
            return 60
        return int(hours / max(1, cfg["resources"]["gpus"]) * 60 * 1.25) + 30
