"""The pipeline's stages, declared once: what each runs, reads and writes, and which module does the work.

Snakemake's rules (workflow/rules/*.smk), dvc.yaml (orchestration/dvc.py) and the CLI's stage commands are
built from this table, so a stage's command, inputs and outputs cannot drift apart between the tools
(tests/test_stage_table.py compares Snakemake's dry run with dvc.yaml job by job). A stage runs once per
*key*: a dataset, a run (paper, experiment), a paper, or once for the whole pipeline.

Torch-free: the DAG (and so the Snakefile's parse) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import paths


KEY_NAMES = {"dataset": ("dataset",), "run": ("paper", "exp"), "paper": ("paper",), "once": ()}


@dataclass(frozen=True)
class Stage:
    kind: str                                   # the CLI subcommand; rule and dvc stage names derive from it
    per: str                                    # "dataset" | "run" | "paper" | "once"
    args: str                                   # the subcommand's arguments: {scale} and the key's fields
    entry: tuple[str, ...]                      # the modules its command runs (dvc.yaml's code deps)
    inputs: Callable[..., list[str]]            # inputs(dag, **key)
    outputs: Callable[..., list[str]]           # outputs(dag, **key)
    fields: Callable[..., dict] = lambda dag, **key: {}  # further {fields} of args (from the outputs, the DAG)

    def command(self, dag, program: str = "ganrepro", **values) -> str:
        """The stage's command line for one key (the program: ganrepro, or a launcher such as torchrun); a value
        given for a further field (a rule's ``{params.datasets}``) replaces the one the key implies."""
        key = {name: values[name] for name in KEY_NAMES[self.per]}
        values = {"scale": dag.scale, **self.fields(dag, **key), **values}
        return f"{program} {self.kind} {self.args.format(**values)}"


def _evaluate_inputs(dag, paper: str, exp: str) -> list[str]:
    cfg = dag.run(paper, exp)  # the network of the run that trained it (its own, or a shared run's)
    return [cfg["paths"]["network"], cfg["paths"]["result"], *dag.instruments(paper, exp),
            dag.dataset_manifest(cfg["dataset"]["key"])]


STAGES: dict[str, Stage] = {s.kind: s for s in (
    Stage("prepare-data", "dataset", "--dataset {dataset} --scale {scale}", ("ganrepro.stages.prepare",),
          inputs=lambda dag, dataset: [],
          outputs=lambda dag, dataset: [dag.dataset_manifest(dataset)]),
    Stage("train-extractor", "once", "--scale {scale}", ("ganrepro.stages.prepare",),
          inputs=lambda dag: [], outputs=lambda dag: [dag.instrument_paths()["feature_cnn"]]),
    Stage("train-digit-classifier", "once", "--scale {scale}", ("ganrepro.stages.prepare",),
          inputs=lambda dag: [], outputs=lambda dag: [dag.instrument_paths()["digit_cnn"]]),
    Stage("train", "run", "--paper {paper} --experiment {exp} --scale {scale} --no-progress",
          ("ganrepro.stages.train",),
          inputs=lambda dag, paper, exp: dag.train_inputs(paper, exp),
          outputs=lambda dag, paper, exp: [dag.network(paper, exp), dag.result(paper, exp)]),
    Stage("evaluate", "run", "--paper {paper} --experiment {exp} --scale {scale} --samples {samples}",
          ("ganrepro.stages.evaluate", "ganrepro.reports.samples"),
          inputs=_evaluate_inputs,
          outputs=lambda dag, paper, exp: dag.evaluate_outputs(paper, exp),
          fields=lambda dag, paper, exp: {"samples": dag.sample_grid(paper, exp)}),
    Stage("count-params", "paper", "--paper {paper} --out {out}", ("ganrepro.stages.params_count",),
          inputs=lambda dag, paper: [], outputs=lambda dag, paper: [dag.param_counts(paper)],
          fields=lambda dag, paper: {"out": dag.param_counts(paper)}),
    Stage("cost-bench", "paper", "--paper {paper} --scale {scale} --out {out}", ("ganrepro.stages.cost_bench",),
          inputs=lambda dag, paper: [], outputs=lambda dag, paper: [paths.cost_bench(dag.scale, paper)],
          fields=lambda dag, paper: {"out": paths.cost_bench(dag.scale, paper)}),
    Stage("tables", "paper", "--paper {paper} --scale {scale} --agreement",
          ("ganrepro.reports.tables", "ganrepro.reports.agreement"),
          inputs=lambda dag, paper: dag.tables_inputs(paper), outputs=lambda dag, paper: dag.tables_outputs(paper)),
    Stage("figures", "paper", "--paper {paper} --scale {scale} --real-samples {datasets}",
          ("ganrepro.reports.figures", "ganrepro.reports.samples"),
          inputs=lambda dag, paper: dag.figures_inputs(paper), outputs=lambda dag, paper: dag.figures_outputs(paper),
          fields=lambda dag, paper: {"datasets": " ".join(dag.paper_datasets(paper))}),
    Stage("overview", "once", "--papers {papers} --scale {scale}", ("ganrepro.reports.overview",),
          inputs=lambda dag: dag.overview_inputs(), outputs=lambda dag: [dag.OVERVIEW],
          fields=lambda dag: {"papers": " ".join(dag.papers)}),
)}


def keys(dag, kind: str) -> list[dict]:
    """Every key the stage runs for in this DAG (a cost benchmark only for a paper with a cost table;
    an instrument only when some run's evaluation needs it)."""
    per = STAGES[kind].per
    if per == "dataset":
        return [{"dataset": d} for d in dag.datasets]
    if per == "run":
        return [{"paper": p, "exp": e} for (p, e) in (dag.trained_runs() if kind == "train" else dag.runs)]
    if per == "paper":
        papers = dag.papers if kind != "cost-bench" else [
            p for p in dag.papers if any(dag.cost_inputs(p, t) for t in dag.tables(p))]
        return [{"paper": p} for p in papers]
    if kind in ("train-extractor", "train-digit-classifier"):
        needed = {i for (paper, exp) in dag.runs for i in dag.instruments(paper, exp)}
        return [{}] if STAGES[kind].outputs(dag)[0] in needed else []
    return [{}]


def stage_name(kind: str, key: dict) -> str:
    """``kind[_paper][_experiment | _dataset]``: dvc.yaml's stage names."""
    return "_".join([kind, *key.values()])


def wildcard_key(kind: str) -> dict:
    """The key as Snakemake wildcards (``{paper}``, ``{exp}``, ``{dataset}``): a rule's patterns."""
    return {n: "{" + n + "}" for n in KEY_NAMES[STAGES[kind].per]}
