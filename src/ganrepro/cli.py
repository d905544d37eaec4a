"""`ganrepro <stage>`: the one entry point the README, Snakemake, DVC and SLURM launchers call."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback

from . import paths
from .scales import MAIN_SCALE, SCALES
from .errors import GanreproError


def _add_run_args(p: argparse.ArgumentParser, experiment: bool = True) -> None:
    p.add_argument("--paper", default=None, help="paper whose experiments to use (params/experiments/<paper>.yaml)")
    if experiment:
        p.add_argument("--experiment", required=True, help="experiment id from params/experiments/<paper>.yaml")
    p.add_argument("--scale", default=MAIN_SCALE, help=f"scale preset: {' | '.join(SCALES)} (default: {MAIN_SCALE})")


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
    p.add_argument("--scale", default=MAIN_SCALE)

    p = sub.add_parser("train-extractor", help="train the stand-in feature extractor used for FID at small scales")
    p.add_argument("--scale", default=MAIN_SCALE)

    p = sub.add_parser("train-digit-classifier", help="train the StackedMNIST mode-counting classifier")
    p.add_argument("--scale", default=MAIN_SCALE)

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
    p.add_argument("--folder", default=paths.SUBMITIT, help="submitit's job folder (pickles, logs)")
    p.add_argument("--wait", action="store_true", help="wait for the jobs (through requeues) and report")

    p = sub.add_parser("evaluate", help="evaluate one trained experiment, or --network PATH with its protocol")
    _add_run_args(p)
    p.add_argument("--network", default=None, help="evaluate this network.pt (e.g. an imported official "
                   "checkpoint) instead of the run's; the record goes to <experiment>@<tag>.json")
    p.add_argument("--samples", default=None, metavar="PNG",
                   help="also write the run's sample grid here (as `ganrepro samples` at seeds 0-7), first")
    p.add_argument("--tag", default="official", help="with --network: the record's tag (the tables read 'official')")

    p = sub.add_parser("import-checkpoint", help="an official checkpoint -> the project's network.pt (no official "
                       "code is run)")
    p.add_argument("path", help="network-snapshot-*.pkl (stylegan2-ada, EpiGRAF, R3GAN) or CIPS .pt")
    _add_run_args(p)
    p.add_argument("--out", required=True, help="network.pt to write")
    p.add_argument("--model", default="{}", help="JSON model overrides (params/checkpoints.yaml lists them)")

    p = sub.add_parser("count-params", help="parameter counts at the paper's widths")
    p.add_argument("--paper", default=None)
    p.add_argument("--out", required=True)

    p = sub.add_parser("cost-bench", help="a paper's cost benchmark (memory, time per iteration) at a scale")
    _add_run_args(p, experiment=False)
    p.add_argument("--out", required=True)

    p = sub.add_parser("tables", help="regenerate a paper's tables (CSV + markdown)")
    _add_run_args(p, experiment=False)
    p.add_argument("--out", default=paths.TABLES)
    p.add_argument("--table", default=None, help="one table (default: all of the paper's tables)")
    p.add_argument("--agreement", action="store_true",
                   help="then the agreement of the paper's tables with the paper (as `ganrepro agreement`)")

    p = sub.add_parser("figures", help="regenerate a paper's figures (PNG)")
    _add_run_args(p, experiment=False)
    p.add_argument("--out", default=paths.FIGURES)
    p.add_argument("--figure", default=None, help="one figure (default: all of the paper's figures)")
    p.add_argument("--real-samples", nargs="*", default=[], metavar="DATASET",
                   help="also the grid of real images of these prepared datasets (as `ganrepro real-samples`, "
                        "written where ganrepro.paths.real_grid puts them)")

    p = sub.add_parser("bench", help="training throughput (images/s) and peak memory per config")
    _add_run_args(p, experiment=False)
    p.add_argument("--experiments", nargs="*", default=None)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default=None)
    p.add_argument("--compare", metavar="REV", default=None,
                   help="CPU time per training step of this tree vs commit REV, interleaved (orchestration/bench_compare.py)")
    p.add_argument("--configs", nargs="*", default=None, help="with --compare: which of its configs (default: all)")
    p.add_argument("--repeats", type=int, default=5, help="with --compare: interleaved blocks per tree")

    p = sub.add_parser("gpu-check", help="a GPU session's checks as one table: CUDA tests, a tiny DAG on the device, "
                                         "throughput per family at paper widths (fp32, bf16), cost ratios")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (with --tiny: the dry run)")
    p.add_argument("--tiny", action="store_true", help="tiny scale everywhere: the dry run, well under a minute")
    p.add_argument("--out", default=paths.GPU_CHECK, help="directory for the table, gpu_check.json and logs")
    p.add_argument("--budget-s", type=float, default=400, help="bench and cost rows past this are skipped")
    p.add_argument("--sections", nargs="+", default=["tests", "dag", "bench", "cost"],
                   choices=["tests", "dag", "bench", "cost"])
    p.add_argument("--dag-paper", default="inr_multistage", help="the paper whose tiny DAG runs on the device")

    p = sub.add_parser("ablate", help="train an experiment with settings changed (--set key=YAML, one variant "
                                      "each) beside the unchanged one, and print each variant's FID")
    _add_run_args(p)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=YAML",
                   help="a resolved-config value to change, e.g. model.resample_filter=[1,2,1] (repeatable)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seed offsets to train each variant with")

    p = sub.add_parser("sweep", help="train a grid of settings (--grid key=[v1,v2], one axis each) over seeds and "
                                     "print FID and the learning metric per setting (how the small-scale recipes "
                                     "were found; docs/SWEEPS.md)")
    _add_run_args(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=[YAML,...]",
                   help="one axis of the grid, e.g. 'schedule.lr.start=[1e-3, 2e-3]' (repeatable)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seed offsets to train each cell with")
    p.add_argument("--jobs", type=int, default=1, help="cells trained at once")
    p.add_argument("--work", default=None, help="work directory (default runs/sweeps/<scale>-<paper>-<exp>; "
                                               "re-running resumes)")
    p.add_argument("--out", default=None, help="also write the markdown table here")

    p = sub.add_parser("dvc-yaml", help="write dvc.yaml from params/ (the Snakefile's DAG); --check: fail if stale")
    p.add_argument("--scale", default=None, help="scale preset (default: workflow/config.yaml's, smoke)")
    p.add_argument("--out", default="dvc.yaml", help="file to write, '-' for stdout (default: dvc.yaml)")
    p.add_argument("--check", action="store_true", help="exit 1 if --out differs from what params/ generate")

    p = sub.add_parser("dag-timing", help="per-rule job time and wall time of a finished DAG run, from its logs/")
    p.add_argument("--logs", default=paths.LOGS)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--scale", default=None, help="only this scale's jobs (default: every log)")
    p.add_argument("--paper", default=None, help="only this paper's jobs (shared jobs such as instruments excluded)")

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
    p = sub.add_parser("samples", help="sample grid of one run's EMA generator at fixed latent seeds (PNG)")
    p.add_argument("--network", required=True, help="runs/<scale>/<paper>/<experiment>/network.pt")
    p.add_argument("--out", required=True, help="PNG to write, e.g. results/figures/<paper>/samples/<exp>.png")
    p.add_argument("--seeds", default="0-7", help="latent seeds, e.g. '0-7' or '0,3,5' (default 0-7; one "
                                                  "column each, the same for every run)")

    p = sub.add_parser("real-samples", help="grid of real images of a prepared dataset (PNG)")
    p.add_argument("--dataset-dir", required=True, help="data/<scale>/<dataset>")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=8, help="images per class row (or in all, unlabelled; default 8)")

    p = sub.add_parser("agreement", help="rank agreement (Kendall tau, flips) and ablation steps vs the paper")
    p.add_argument("--paper", default=None)
    p.add_argument("--tables", default=paths.TABLES, help="directory of <paper>/<table>.csv")

    p = sub.add_parser("overview", help="write results/README.md: where the reproduction stands, per paper")
    p.add_argument("--papers", nargs="+", default=None, help="default: every paper in params/experiments/")
    p.add_argument("--out", default=paths.OVERVIEW)
    p.add_argument("--tables", default=paths.TABLES)
    p.add_argument("--figures", default=paths.FIGURES)
    p.add_argument("--scale", default=None, help="scale whose learning gates to show (the DAG passes its own)")
    p = sub.add_parser("snapshot", help="compare results/tables with the committed snapshot cell by cell "
                                        "(results/snapshot/<scale>/), or --save this run as the new snapshot")
    p.add_argument("--scale", default=MAIN_SCALE)
    p.add_argument("--save", action="store_true", help="copy results/ of this run into results/snapshot/<scale>/")
    p.add_argument("--against", default=None, help="another tables directory to compare with (default: the snapshot's)")
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


def _enter_workspace(args) -> None:
    """Work in the workspace root wherever the command was started; fill in --paper when unambiguous."""
    from .paths import workspace_root

    os.chdir(workspace_root())
    if getattr(args, "scale", None) and args.cmd not in ("plan", "validate", "resolve", "dvc-yaml", "dag-timing"):
        import torch

        from .config import load_params

        torch.set_num_threads(int(load_params().scale(args.scale).get("threads", 1)))  # as under Snakemake/DVC
    compare = args.cmd == "bench" and args.compare  # its configs name their papers
    if getattr(args, "paper", "unset") is None and args.cmd not in ("plan", "dag-timing") and not compare:
        args.paper = _infer_paper(args)


def _infer_paper(args) -> str:
    """--paper when omitted: the one paper that has the named experiment(s), or the only paper."""
    from .config import load_params
    from .config.resolve import split_seed

    params = load_params()
    named = [getattr(args, "experiment", None)] + list(getattr(args, "experiments", None) or [])
    named = [split_seed(n)[0] for n in named if n]
    papers = [p for p, reg in params.experiments.items() if named and all(n in reg["experiments"] for n in named)]
    if not named:
        papers = list(params.experiments)
    if len(papers) == 1:
        return papers[0]
    where = f" with experiment(s) {', '.join(named)}" if named else ""
    found = ", ".join(papers) if papers else "none"
    raise GanreproError(f"give --paper: the papers{where} are {found} (params/experiments/<paper>.yaml).")


def _dispatch(args) -> int | None:
    from .cli_commands import COMMANDS

    _enter_workspace(args)
    return COMMANDS[args.cmd](args)


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
