"""`ganrepro <stage>`: the one entry point the README, Snakemake, DVC and SLURM launchers call."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import GanreproError


def _add_run_args(p: argparse.ArgumentParser, experiment: bool = True) -> None:
    p.add_argument("--paper", default="r3gan", help="paper whose experiments to use (default: r3gan)")
    if experiment:
        p.add_argument("--experiment", required=True, help="experiment id from params/experiments/<paper>.yaml")
    p.add_argument("--scale", default="smoke", help="scale preset: tiny | smoke | paper (default: smoke)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ganrepro", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    sub.add_parser("validate", help="validate every params file and print a summary")

    p = sub.add_parser("resolve", help="print the resolved config of one run as JSON")
    _add_run_args(p)

    p = sub.add_parser("plan", help="list the jobs of a scale with GPUs and GPU-hours (paper compute)")
    _add_run_args(p, experiment=False)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("prepare-data", help="build data/<scale>/<dataset> (embedded stand-in or real data)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--scale", default="smoke")

    p = sub.add_parser("train-extractor", help="train the stand-in feature extractor used for FID at small scales")
    p.add_argument("--scale", default="smoke")

    p = sub.add_parser("train-digit-classifier", help="train the StackedMNIST mode-counting classifier")
    p.add_argument("--scale", default="smoke")

    p = sub.add_parser("train", help="train one experiment (re-run the same command to resume)")
    _add_run_args(p)
    p.add_argument("--max-minutes", type=float, default=None, help="save state and stop after this wall time")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("evaluate", help="evaluate one trained experiment")
    _add_run_args(p)

    p = sub.add_parser("count-params", help="parameter counts at the paper's widths")
    p.add_argument("--paper", default="r3gan")
    p.add_argument("--out", required=True)

    p = sub.add_parser("tables", help="regenerate a paper's tables (CSV + markdown)")
    _add_run_args(p, experiment=False)
    p.add_argument("--out", default="results/tables")
    p.add_argument("--table", default=None, help="one table (default: all of the paper's tables)")

    p = sub.add_parser("figures", help="regenerate a paper's figures (PNG)")
    _add_run_args(p, experiment=False)
    p.add_argument("--out", default="results/figures")

    p = sub.add_parser("bench", help="training throughput (images/s) and peak memory per config")
    _add_run_args(p, experiment=False)
    p.add_argument("--experiments", nargs="*", default=None)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.getcwd(), ".cache", "matplotlib"))
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args) or 0
    except GanreproError as exc:
        print(f"ganrepro {args.cmd}: error: {exc}", file=sys.stderr)
        return 2


def _dispatch(args) -> int | None:
    if args.cmd == "validate":
        from .config import list_experiments, load_params

        params = load_params()
        for paper in params.experiments:
            print(f"{paper}: {len(list_experiments(paper, params))} experiments")
        print(f"scales: {', '.join(params.scales)}; datasets: {', '.join(params.datasets)}")
        return 0
    if args.cmd == "resolve":
        from .config import resolve_run

        print(json.dumps(resolve_run(args.paper, args.experiment, args.scale), indent=2))
        return 0
    if args.cmd == "plan":
        from .orchestration.plan import format_plan, plan_jobs

        jobs = plan_jobs(args.scale, papers=[args.paper])
        print(json.dumps(jobs, indent=2) if args.json else format_plan(jobs, args.scale))
        return 0
    if args.cmd == "prepare-data":
        from .stages.prepare import prepare_dataset

        print(prepare_dataset(args.dataset, args.scale))
        return 0
    if args.cmd == "train-extractor":
        from .stages.prepare import train_extractor

        print(train_extractor(args.scale))
        return 0
    if args.cmd == "train-digit-classifier":
        from .stages.prepare import train_digits

        print(train_digits(args.scale))
        return 0
    if args.cmd == "train":
        from .stages.train import run_training

        return run_training(args.paper, args.experiment, args.scale, max_minutes=args.max_minutes,
                            progress=not args.no_progress)
    if args.cmd == "evaluate":
        from .stages.evaluate import evaluate_run

        record = evaluate_run(args.paper, args.experiment, args.scale)
        values = {k: v.get("value") for k, v in record["metrics"].items()}
        print(f"{args.paper}/{args.experiment}: {record['train_status']} {json.dumps(values)}")
        return 0
    if args.cmd == "count-params":
        from .stages.params_count import count_paper_params

        count_paper_params(args.paper, args.out)
        return 0
    if args.cmd == "tables":
        from .reports.tables import write_tables

        for path in write_tables(args.paper, args.scale, args.out, table=args.table):
            print(path)
        return 0
    if args.cmd == "figures":
        from .reports.figures import write_figures

        for path in write_figures(args.paper, args.scale, args.out):
            print(path)
        return 0
    if args.cmd == "bench":
        from .orchestration.bench import run_bench

        run_bench(args.paper, args.scale, experiments=args.experiments, steps=args.steps, device=args.device)
        return 0
    raise AssertionError(args.cmd)


if __name__ == "__main__":
    sys.exit(main())
