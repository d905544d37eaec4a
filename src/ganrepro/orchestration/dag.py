"""The pipeline's DAG as data, derived from params/: used by the Snakefile, dvc.yaml and `ganrepro plan`.

Every path a rule declares comes from ``ganrepro.paths`` through here, so Snakemake, DVC and the CLI
agree on one layout. The papers are the files in params/experiments/ (nothing else lists them).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property

from .. import paths
from ..config import instrument_paths, list_experiments, load_params, resolve_run
from ..config.identity import config_hash
from ..config.shared import refuse_training_a_shared_run
from ..config.resolve import seed_variants
from ..config.load import Params
from ..errors import ConfigError
from .stage_table import STAGES, wildcard_key


def all_papers(params: Params | None = None) -> tuple[str, ...]:
    return tuple((params or load_params()).experiments)


def normalize_papers(value, params: Params | None = None) -> tuple[str, ...]:
    """`--config papers=...` as a tuple of known papers: a list, "all", or a bare or comma-separated string."""
    known = all_papers(params)
    if value in (None, "all", ["all"]):
        return known
    if not isinstance(value, (str, list, tuple)) or not all(isinstance(p, str) for p in value):
        meant = [p for p in value if p in known] if isinstance(value, dict) else []  # YAML's {r3gan}
        raise ConfigError(f"--config papers={value!r} is not a paper name nor a list of them; write e.g. "
                          f"--config 'papers=[{', '.join(meant or known[:1])}]' (allowed: all, {', '.join(known)}).")
    names = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    unknown = [p for p in names if p not in known]
    if unknown or not names:
        meant = [(difflib.get_close_matches(p, known, n=1) or [p])[0] for p in names if p in known or p in unknown]
        spelling = ", ".join(dict.fromkeys(p for p in meant if p in known)) or known[0]
        raise ConfigError(f"unknown paper(s) {', '.join(map(repr, unknown)) or '(none given)'} in --config papers=...; "
                          f"allowed: {', '.join(known)} (one file each in params/experiments/). "
                          f"Write e.g. --config 'papers=[{spelling}]' or papers={','.join(known)}.")
    return tuple(names)


@dataclass
class PipelineDAG:
    scale: str
    papers: tuple[str, ...] | None = None

    def __post_init__(self):
        self.papers = normalize_papers(self.papers, self.params)

    @cached_property
    def params(self) -> Params:
        return load_params()

    @cached_property
    def runs(self) -> dict[tuple[str, str], dict]:
        seeds = self.params.scale(self.scale).get("seeds", 1)
        return {(p, v): resolve_run(p, v, self.scale, self.params) for p in self.papers
                for e in list_experiments(p, self.params) for v in seed_variants(e, seeds)}

    def run(self, paper: str, experiment: str) -> dict:
        return self.runs[(paper, experiment)]

    def trained_runs(self) -> list[tuple[str, str]]:
        """The runs that have a training job: a run that trains what an earlier one trains shares its job
        (``config/shared.py``), and is evaluated from its network."""
        return [key for key, cfg in self.runs.items() if "trained_by" not in cfg["paths"]]

    def experiments(self, paper: str) -> list[str]:
        return [e for (p, e) in self.runs if p == paper]

    @property
    def datasets(self) -> list[str]:
        return sorted({cfg["dataset"]["key"] for cfg in self.runs.values()})

    def paper_datasets(self, paper: str) -> list[str]:
        return sorted({self.run(paper, e)["dataset"]["key"] for e in self.experiments(paper)})

    def tables(self, paper: str) -> list[str]:
        return list(self.params.reported.get(paper, {}).get("tables", {}))

    def table_experiments(self, paper: str, table: str) -> list[str]:
        rows = self.params.reported[paper]["tables"][table]["rows"]
        from_rows = [r["experiment"] for r in rows if r.get("experiment")]
        from_exps = [e for e in self.experiments(paper) if table in self.run(paper, e)["tables"]]
        seeds = self.params.scale(self.scale).get("seeds", 1)
        from_rows = [v for e in from_rows for v in seed_variants(e, seeds)]
        return sorted(set(from_rows) | set(from_exps))

    def figures(self, paper: str) -> list[str]:
        from ..reports.figure_list import figure_builders

        return list(figure_builders(paper))

    # --- paths (all from ganrepro.paths) ---------------------------------------------------------
    def dataset_manifest(self, key: str) -> str:
        return paths.dataset_manifest(self.scale, key)

    def dataset_dir(self, key: str) -> str:
        return paths.dataset_dir(self.scale, key)

    def train_inputs(self, paper: str, experiment: str) -> list[str]:
        """What a training job needs: its dataset, and the network of the run it starts from (a stage)."""
        cfg = self.run(paper, experiment)
        refuse_training_a_shared_run(cfg, f"It has no training job: ask for that file, or for {cfg['paths']['metrics']}.")
        inputs = [self.dataset_manifest(cfg["dataset"]["key"])]
        if cfg.get("init_from"):
            inputs.append(cfg["init_from"]["network"])
        return inputs

    def instruments(self, paper: str, experiment: str) -> list[str]:
        """Files the evaluation of this run needs besides the network (classifier / extractor)."""
        ev = self.run(paper, experiment)["eval"]
        # the feature extractor scores every run, a modes run too: its learning index is a FID
        extractor = [ev["extractor"]["weights"]] if ev["extractor"]["kind"] == "cnn" else []
        return ([ev["digit_classifier"]] if ev["kind"] == "modes" else []) + extractor

    def instrument_paths(self) -> dict:
        return instrument_paths(self.scale)

    def network(self, paper: str, experiment: str) -> str:
        return paths.network(self.scale, paper, experiment)

    def result(self, paper: str, experiment: str) -> str:
        return paths.result(self.scale, paper, experiment)

    def metrics(self, paper: str, experiment: str) -> str:
        return paths.metrics(self.scale, paper, experiment)

    def table_metrics(self, paper: str, table: str) -> list[str]:
        return [self.metrics(paper, e) for e in self.table_experiments(paper, table)]

    def param_counts(self, paper: str) -> str:
        return paths.param_counts(paper)

    def cost_inputs(self, paper: str, table: str) -> list[str]:
        """The paper's cost benchmark when ``table`` has ``source: cost`` cells (else nothing)."""
        spec = self.params.reported[paper]["tables"][table]
        if any(m.get("source") == "cost" for m in spec["metrics"].values()):
            return [paths.cost_bench(self.scale, paper)]
        return []

    def table_files(self, paper: str, table: str) -> list[str]:
        """CSV (long format), markdown (the paper's layout), JSON (reproduced cells: DVC metrics)."""
        return [paths.table(paper, table, ext) for ext in ("csv", "md", "json")]

    def figure_inputs(self, paper: str) -> list[str]:
        """A paper's figures read every run's results and metrics record (what evaluation measured, e.g. the
        FIDs of kept snapshots, is not measured twice) and, for learning curves, the instruments."""
        results = list(dict.fromkeys(self.run(paper, e)["paths"]["result"] for e in self.experiments(paper)))
        records = [self.metrics(paper, e) for e in self.experiments(paper)]
        instruments = sorted({i for e in self.experiments(paper) for i in self.instruments(paper, e)})
        return results + records + instruments

    def figure_file(self, paper: str, figure: str) -> str:
        return paths.figure(paper, figure)

    def figure_files(self, paper: str) -> list[str]:
        return [self.figure_file(paper, f) for f in self.figures(paper)]

    def sample_files(self, paper: str) -> list[str]:
        """A sample grid per trained run and a grid of real images per dataset it trains on."""
        return [self.sample_grid(paper, e) for e in self.experiments(paper)] + self.real_grids(paper)

    def sample_grid(self, paper: str, experiment: str) -> str:
        return paths.sample_grid(paper, experiment)

    def real_grids(self, paper: str) -> list[str]:
        return [paths.real_grid(paper, d) for d in self.paper_datasets(paper)]

    def agreement_files(self, paper: str) -> list[str]:
        return [paths.table(paper, "agreement", ext) for ext in ("csv", "md")]

    # --- the per-paper jobs: fewer, fatter jobs (each `ganrepro` process pays for its start and imports) ----
    def evaluate_outputs(self, paper: str, experiment: str) -> list[str]:
        """Evaluation holds the network: it also draws the run's sample grid (every run is evaluated)."""
        return [self.metrics(paper, experiment), self.sample_grid(paper, experiment)]

    def tables_inputs(self, paper: str) -> list[str]:
        """All of a paper's tables in one job: every table's metrics, the parameter counts, the cost benchmark."""
        metrics = [m for t in self.tables(paper) for m in self.table_metrics(paper, t)]
        cost = [c for t in self.tables(paper) for c in self.cost_inputs(paper, t)]
        return list(dict.fromkeys(metrics + [self.param_counts(paper)] + cost))

    def tables_outputs(self, paper: str) -> list[str]:
        """Every table (CSV, markdown, JSON) and the agreement of the tables with the paper."""
        return [f for t in self.tables(paper) for f in self.table_files(paper, t)] + self.agreement_files(paper)

    def figures_inputs(self, paper: str) -> list[str]:
        """All of a paper's figures and its real-image grids in one job: runs' results, instruments, datasets."""
        return self.figure_inputs(paper) + [self.dataset_manifest(d) for d in self.paper_datasets(paper)]

    def figures_outputs(self, paper: str) -> list[str]:
        return self.figure_files(paper) + self.real_grids(paper)

    OVERVIEW = f"{paths.RESULTS}/README.md"

    def overview_inputs(self) -> list[str]:
        """Everything the overview page summarises or links: tables, figures, samples, agreement."""
        out = []
        for paper in self.papers:
            for table in self.tables(paper):
                out += self.table_files(paper, table)
            out += self.figure_files(paper) + self.sample_files(paper) + self.agreement_files(paper)
            out += [self.metrics(p, e) for p, e in self.runs if p == paper]  # the learning gates read them
        return out

    def final_targets(self) -> list[str]:
        return self.overview_inputs() + [self.OVERVIEW]

    # --- Snakemake's rules, from the stage table (orchestration/stage_table.py) ---------------------
    def rule_input(self, kind: str, **key):
        """A rule's inputs: the list for a fixed key (a per-paper rule), else a function of the wildcards."""
        stage = STAGES[kind]
        if key or stage.per == "once":
            return stage.inputs(self, **key)
        return lambda w: stage.inputs(self, **{name: w[name] for name in wildcard_key(kind)})

    def rule_output(self, kind: str, **key) -> list[str]:
        """A rule's outputs: patterns with the key's wildcards (``{paper}``, ``{exp}``), or a fixed key's files."""
        return STAGES[kind].outputs(self, **(key or wildcard_key(kind)))

    def rule_shell(self, kind: str, fixed: bool = False) -> str:
        """The stage's command as a rule's shell line: the key from the wildcards, or with ``fixed`` (a rule made
        per paper in a loop) from the rule's params (``rule_params``). Snakemake evaluates a shell expression
        again when the job runs, after the loop has moved on: the line itself must not depend on the loop's
        variable. A training job's program is the rule's ``launcher``."""
        stage = STAGES[kind]
        names = list(stage.fields(self, **{n: "" for n in wildcard_key(kind)})) if fixed else []
        source = "params" if fixed else "wildcards"
        values = {name: "{" + source + "." + name + "}" for name in [*wildcard_key(kind), *names]}
        program = "{params.launcher}" if kind == "train" else "ganrepro"
        return f"OMP_NUM_THREADS={{threads}} {stage.command(self, program, **values)} > {{log}} 2>&1"

    def rule_params(self, kind: str, **key) -> dict:
        """The key and the command's further fields of a rule made for one key (``rule_shell(fixed=True)``)."""
        return {**key, **STAGES[kind].fields(self, **key)}

    # --- rerun triggers and resources ------------------------------------------------------------
    def fingerprint(self, paper: str, experiment: str) -> str:
        """Hash of the experiment-defining values only (not paths), so edits that matter trigger reruns."""
        return config_hash(self.run(paper, experiment))

    def gpus(self, paper: str, experiment: str) -> int:
        cfg = self.run(paper, experiment)
        return cfg["resources"]["gpus"] if cfg["train"]["device"] == "cuda" else 0

    def threads(self, paper: str | None = None, experiment: str | None = None) -> int:
        """CPU threads of a job: the scale's (or the run's) setting, so every launcher gets the same numerics."""
        if paper and experiment:
            return int(self.run(paper, experiment)["train"]["threads"])
        return int(self.params.scale(self.scale).get("threads", 1))

    def train_launcher(self, paper: str, experiment: str) -> str:
        """`ganrepro`, or torchrun with one process per GPU when a training job has several."""
        gpus = self.gpus(paper, experiment)
        if gpus <= 1:
            return "ganrepro"
        return f"torchrun --standalone --nproc_per_node={gpus} -m ganrepro.cli"

    def gpu_hours(self, paper: str, experiment: str) -> float | None:
        """GPU-hours this job is expected to take (paper compute x share of images shown)."""
        cfg = self.run(paper, experiment)
        hours = cfg["resources"]["gpu_hours_paper"]
        return hours * cfg["train"]["time_ratio"] if hours else None

    def gpu_hours_label(self, paper: str, experiment: str) -> str:
        hours = self.gpu_hours(paper, experiment)
        return "n/a" if hours is None else f"{hours:.1f}"

    def budget_summary(self) -> str:
        from .plan import format_plan, plan_jobs

        return format_plan(plan_jobs(self), self.scale).splitlines()[-1]

    def runtime_minutes(self, paper: str, experiment: str) -> int:
        """Wall-time request for a training job: the paper's GPU-hours spread over its GPUs, +25%."""
        cfg = self.run(paper, experiment)
        hours = cfg["resources"]["gpu_hours_paper"]
        if cfg["train"]["device"] != "cuda" or not hours:
            return 60
        return int(hours / max(1, cfg["resources"]["gpus"]) * 60 * 1.25) + 30
