"""What each `ganrepro` subcommand does: one small handler per command (cli.py parses, then dispatches here).

The pipeline's stages among them run what the stage table declares (orchestration/stage_table.py; a test parses
every stage's command with the CLI's parser and checks that it reaches its handler).
"""

from __future__ import annotations

import json

from . import paths


def _cmd_validate(args) -> int:
    from .config import list_experiments, load_params

    from .orchestration.dag import PipelineDAG

    params = load_params()
    for scale in params.scales:  # resolving every run checks shapes against resolutions, objectives, families
        PipelineDAG(scale, "all").runs
    for paper in params.experiments:
        print(f"{paper}: {len(list_experiments(paper, params))} experiments")
    print(f"scales: {', '.join(params.scales)}; datasets: {', '.join(params.datasets)}")
    return 0


def _cmd_resolve(args) -> int:
    from .config import resolve_run

    print(json.dumps(resolve_run(args.paper, args.experiment, args.scale), indent=2))
    return 0


def _cmd_plan(args) -> int:
    from .orchestration.dag import PipelineDAG
    from .orchestration.plan import format_plan, plan_jobs

    jobs = plan_jobs(PipelineDAG(args.scale, args.paper))
    print(json.dumps(jobs, indent=2) if args.json else format_plan(jobs, args.scale))
    return 0


def _cmd_prepare_data(args) -> int:
    from .stages.prepare import prepare_dataset

    print(prepare_dataset(args.dataset, args.scale))
    return 0


def _cmd_train_extractor(args) -> int:
    from .stages.prepare import train_extractor

    print(train_extractor(args.scale))
    return 0


def _cmd_train_digit_classifier(args) -> int:
    from .stages.prepare import train_digits

    print(train_digits(args.scale))
    return 0


def _cmd_train(args) -> int:
    from .stages.train import run_training

    return run_training(args.paper, args.experiment, args.scale, max_minutes=args.max_minutes,
                        progress=not args.no_progress)


def _cmd_launch(args) -> int:
    from .orchestration.launch import SlurmResources, launch

    resources = SlurmResources(partition=args.partition, account=args.account, gpus_per_node=args.gpus_per_node,
                               tasks_per_node=args.tasks_per_node, nodes=args.nodes,
                               cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, timeout_min=args.timeout_min)
    return launch(args.paper, args.experiments, args.scale, resources, folder=args.folder, wait_for_jobs=args.wait)


def _cmd_evaluate(args) -> int:
    from .stages.evaluate import evaluate_network, evaluate_run

    if args.samples:  # the job already holds the network: no separate samples job per run
        from .config import resolve_run
        from .reports.samples import sample_grid_aside

        trained = resolve_run(args.paper, args.experiment, args.scale)["paths"]["network"]  # its own, or a shared run's
        sample_grid_aside(args.network or trained, args.samples, shown_as=None if args.network else args.experiment)
        print(args.samples)
    if args.network:
        record = evaluate_network(args.paper, args.experiment, args.scale, args.network, args.tag)
    else:
        record = evaluate_run(args.paper, args.experiment, args.scale)
    values = {k: v.get("value") for k, v in record["metrics"].items()}
    print(f"{args.paper}/{args.experiment}: {record['train_status']} {json.dumps(values)}")
    return 0


def _cmd_import_checkpoint(args) -> int:
    from .stages.import_checkpoint import import_checkpoint

    prov = import_checkpoint(args.path, paper=args.paper, experiment=args.experiment, scale=args.scale,
                             out=args.out, model_overrides=json.loads(args.model))
    print(f"{args.out}: imported from {prov['imported_from']} (sha256 {prov['sha256'][:12]})")
    return 0


def _cmd_count_params(args) -> int:
    from .stages.params_count import count_paper_params

    count_paper_params(args.paper, args.out)
    return 0


def _cmd_cost_bench(args) -> int:
    from .stages.cost_bench import run_cost_bench

    run_cost_bench(args.paper, args.scale, args.out)
    return 0


def _cmd_tables(args) -> int:
    from .reports.tables import write_tables

    for path in write_tables(args.paper, args.scale, args.out, table=args.table):
        print(path)
    if args.agreement:
        from .reports.agreement import write_agreement

        for path in write_agreement(args.paper, args.out):
            print(path)
    return 0


def _cmd_figures(args) -> int:
    from .reports.figures import write_figures

    for path in write_figures(args.paper, args.scale, args.out, figure=args.figure):
        print(path)
    if args.real_samples:
        from .paths import dataset_dir, real_grid as real_grid_path
        from .reports.samples import real_grid

        for ds in args.real_samples:
            real_grid(dataset_dir(args.scale, ds), real_grid_path(args.paper, ds))
            print(real_grid_path(args.paper, ds))
    return 0


def _cmd_dag_timing(args) -> int:
    from pathlib import Path

    from .orchestration.timing import report

    print(report(Path(args.logs), cores=args.cores, scale=args.scale, paper=args.paper))
    return 0


def _cmd_bench(args) -> int:
    if args.compare:
        from .orchestration.bench_compare import run_compare

        run_compare(args.compare, configs=args.configs, repeats=args.repeats)
        return 0
    from .orchestration.bench import run_bench

    run_bench(args.paper, args.scale, experiments=args.experiments, steps=args.steps, device=args.device)
    return 0


def _cmd_gpu_check(args) -> int:
    from .orchestration.gpu_check import run_gpu_check

    rows = run_gpu_check(args.device, args.tiny, args.out, args.budget_s, args.sections, args.dag_paper)
    return 1 if any("FAILED" in r["result"] for r in rows) else 0


def _cmd_ablate(args) -> int:
    from .orchestration.ablate import run_ablation

    run_ablation(args.paper, args.experiment, args.scale, sets=args.sets, seeds=args.seeds)
    return 0


def _cmd_sweep(args) -> int:
    from .orchestration.sweep import run_sweep

    run_sweep(args.paper, args.experiment, args.scale, grid=args.grid, seeds=args.seeds, jobs=args.jobs,
              work=args.work, out=args.out)
    return 0


def _cmd_dvc_yaml(args) -> int:
    from .orchestration.dvc import dvc_yaml_command

    return dvc_yaml_command(args.scale, args.out, check=args.check)


def _cmd_bench_scheduling(args) -> int:
    from .orchestration.overhead import run_bench_scheduling

    run_bench_scheduling(args.executor, jobs=args.jobs, profile=args.profile,
                         workflow_profile=args.workflow_profile, experiment=args.experiment, what=args.what,
                         keep=args.keep, timeout=args.timeout, as_json=args.json)
    return 0


def _cmd_samples(args) -> int:
    from .reports.samples import parse_seeds, sample_grid

    sample_grid(args.network, args.out, seeds=parse_seeds(args.seeds))
    print(args.out)
    return 0


def _cmd_real_samples(args) -> int:
    from .reports.samples import real_grid

    real_grid(args.dataset_dir, args.out, n=args.n)
    print(args.out)
    return 0


def _cmd_agreement(args) -> int:
    from .reports.agreement import write_agreement

    for path in write_agreement(args.paper, args.tables):
        print(path)
    return 0


def _cmd_overview(args) -> int:
    from .reports.overview import write_overview

    from .orchestration.dag import all_papers

    print(write_overview(args.papers or list(all_papers()), args.out, tables_dir=args.tables, figures_dir=args.figures,
                         scale=args.scale))
    return 0


def _cmd_snapshot(args) -> int:
    from .reports.snapshot import compare_tables, save_snapshot, snapshot_dir, summary

    if args.save:
        print(save_snapshot(args.scale))
        return 0
    old = args.against or snapshot_dir(args.scale) / "tables"
    print(summary(compare_tables(paths.TABLES, old)))
    return 0


COMMANDS = {  # subcommand -> handler (the pipeline's stages: orchestration/stage_table.py runs them)
    "validate": _cmd_validate,
    "resolve": _cmd_resolve,
    "plan": _cmd_plan,
    "prepare-data": _cmd_prepare_data,
    "train-extractor": _cmd_train_extractor,
    "train-digit-classifier": _cmd_train_digit_classifier,
    "train": _cmd_train,
    "launch": _cmd_launch,
    "evaluate": _cmd_evaluate,
    "import-checkpoint": _cmd_import_checkpoint,
    "count-params": _cmd_count_params,
    "cost-bench": _cmd_cost_bench,
    "tables": _cmd_tables,
    "figures": _cmd_figures,
    "dag-timing": _cmd_dag_timing,
    "bench": _cmd_bench,
    "gpu-check": _cmd_gpu_check,
    "ablate": _cmd_ablate,
    "sweep": _cmd_sweep,
    "dvc-yaml": _cmd_dvc_yaml,
    "bench-scheduling": _cmd_bench_scheduling,
    "samples": _cmd_samples,
    "real-samples": _cmd_real_samples,
    "agreement": _cmd_agreement,
    "overview": _cmd_overview,
    "snapshot": _cmd_snapshot,
}
