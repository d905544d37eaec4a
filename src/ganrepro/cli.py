"""`ganrepro <stage>`: the one entry point the README, Snakemake, DVC and SLURM launchers call."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import traceback

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

    p = sub.add_parser("launch", help="submit experiments to SLURM via submitit (DDP, requeue on preemption)")
    _add_run_args(p, experiment=False)
    p.add_argument("--experiments", nargs="*", default=None, help="experiment ids (default: all of the paper's)")
    p.add_argument("--partition", default=None)
    p.add_argument("--account", default=None)
    p.add_argument("--gpus-per-node", type=int, default=None, help="one task per GPU (default: from params)")
    p.add_argument("--tasks-per-node", type=int, default=None, help="default: --gpus-per-node, or 1 on CPU")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--cpus-per-task", type=int, default=None)
    p.add_argument("--mem-gb", type=float, default=None)
    p.add_argument("--timeout-min", type=int, default=None, help="default: from the paper's GPU-hours")
    p.add_argument("--folder", default="logs/submitit", help="submitit's job folder (pickles, logs)")
    p.add_argument("--wait", action="store_true", help="wait for the jobs (through requeues) and report")

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

    p = sub.add_parser("dvc-yaml", help="write dvc.yaml from params/ (the Snakefile's DAG); --check: fail if stale")
    p.add_argument("--scale", default=None, help="scale preset (default: workflow/config.yaml's, smoke)")
    p.add_argument("--out", default="dvc.yaml", help="file to write, '-' for stdout (default: dvc.yaml)")
    p.add_argument("--check", action="store_true", help="exit 1 if --out differs from what params/ generate")

    p = sub.add_parser("bench-scheduling", help="scheduling overhead per job and submit -> first training step "
                                                "(local or SLURM), in a temporary directory")
    p.add_argument("--executor", choices=["local", "slurm"], default="local")
    p.add_argument("--jobs", type=int, default=5, help="length of the chain of trivial jobs (default 5)")
    p.add_argument("--what", choices=["both", "overhead", "first-step"], default="both")
    p.add_argument("--profile", default=None, help="SLURM profile dir (default: the repository's slurm/)")
    p.add_argument("--workflow-profile", default=None,
                   help="profile layered over --profile, e.g. tests/slurm/profile for the local test cluster")
    p.add_argument("--experiment", default="t1-rpgan-r1r2", help="tiny-scale run timed to its first step")
    p.add_argument("--keep", default=None, help="work in this directory and keep it (default: a temp dir)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per snakemake invocation")
    p.add_argument("--json", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a fault the user can fix ends in a one-paragraph message and exit status 2.

    `--debug` (anywhere on the command line) or GANREPRO_DEBUG=1 also prints the traceback.
    """
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.getcwd(), ".cache", "matplotlib"))
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _pop_flag(argv, "--debug") or os.environ.get("GANREPRO_DEBUG", "") not in ("", "0")
    parser = _parser()
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error (any position)")
    args = parser.parse_args(argv)
    bad = _check_args(args)
    if bad:
        print(f"ganrepro {args.cmd}: error: {bad}", file=sys.stderr)
        return 2
    try:
        return _dispatch(args) or 0
    except (Exception, KeyboardInterrupt) as exc:
        return _report(args.cmd, exc, debug)


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
    if args.cmd == "launch":
        from .orchestration.launch import SlurmResources, launch

        resources = SlurmResources(partition=args.partition, account=args.account, gpus_per_node=args.gpus_per_node,
                                   tasks_per_node=args.tasks_per_node, nodes=args.nodes,
                                   cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, timeout_min=args.timeout_min)
        return launch(args.paper, args.experiments, args.scale, resources, folder=args.folder, wait_for_jobs=args.wait)
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
    if args.cmd == "dvc-yaml":
        from .orchestration.dvc import dvc_yaml_command

        return dvc_yaml_command(args.scale, args.out, check=args.check)
    if args.cmd == "bench-scheduling":
        from .orchestration.overhead import run_bench_scheduling

        run_bench_scheduling(args.executor, jobs=args.jobs, profile=args.profile,
                             workflow_profile=args.workflow_profile, experiment=args.experiment, what=args.what,
                             keep=args.keep, timeout=args.timeout, as_json=args.json)
        return 0
    raise AssertionError(args.cmd)


def _pop_flag(argv: list[str], flag: str) -> bool:
    """Remove every `flag` from `argv`; True if there was one (a global flag accepted in any position)."""
    found = flag in argv
    argv[:] = [a for a in argv if a != flag]
    return found


def _check_args(args) -> str | None:
    """A message for an argument argparse accepts but the command cannot use, else None."""
    minutes = getattr(args, "max_minutes", None)
    if minutes is not None and not 0 < minutes < float("inf"):
        return (f"--max-minutes must be a positive number of minutes (the wall time after which the state is "
                f"saved and the run stops with exit 75), got {minutes:g}. Omit it to train to the end.")
    return None


_OS_FIXES = {
    errno.EACCES: "check its permissions (and those of the directories above it)",
    errno.EPERM: "check its permissions (and those of the directories above it)",
    errno.EROFS: "the filesystem is mounted read-only: work in a writable checkout",
    errno.ENOSPC: "the disk is full: free space",
    errno.EDQUOT: "the disk quota is exceeded: free space",
    errno.ENOENT: "check the path; run ganrepro from the project root",
    errno.ENOTDIR: "a file is in the way of a directory of that path: move it away",
    errno.EISDIR: "a directory is in the way of a file of that path: move it away",
}


def _report(cmd: str, exc: BaseException, debug: bool) -> int:
    """Print `exc` for a user (one paragraph) and return the exit status; a bug keeps its traceback."""
    user_fault = isinstance(exc, (GanreproError, OSError, KeyboardInterrupt))
    if debug or not user_fault:
        traceback.print_exception(exc)
    if isinstance(exc, KeyboardInterrupt):
        print(f"ganrepro {cmd}: interrupted. Finished files are complete (every output is written atomically); "
              "re-run the same command to continue (training resumes from its last saved state).", file=sys.stderr)
        return 130
    if isinstance(exc, GanreproError):
        print(f"ganrepro {cmd}: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, OSError):
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None) or "a file"
        fix = _OS_FIXES.get(exc.errno, "fix the file or directory named")
        print(f"ganrepro {cmd}: error: {where}: {exc.strerror or exc}. To fix: {fix}, then re-run the same "
              "command (finished outputs are kept). Add --debug for the traceback.", file=sys.stderr)
        return 2
    print(f"ganrepro {cmd}: internal error ({type(exc).__name__}: {exc}); this is a bug in ganrepro, not in "
          "your input: please report it with the traceback above.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
