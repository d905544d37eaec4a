"""`ganrepro launch`: send experiments to SLURM through submitit (one job per experiment).

    ganrepro launch --paper r3gan --experiments t3-e-stackedmnist --scale paper \\
        --partition gpu --account myproj --gpus-per-node 8 [--nodes 2] [--timeout-min 720] [--wait]

Each job runs :class:`TrainJob`, a ``submitit.helpers.Checkpointable``:

* **DDP.** One SLURM task per GPU (``tasks_per_node = gpus_per_node``). Each task reads its place from
  submitit's ``JobEnvironment`` and exports ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``LOCAL_WORLD_SIZE``/
  ``MASTER_ADDR``/``MASTER_PORT`` before the training loop initialises ``torch.distributed`` (env://).
  ``MASTER_ADDR`` is the first node of the allocation (``127.0.0.1`` on one node), ``MASTER_PORT`` is a
  function of the job id (jobs sharing a node do not collide; a requeued job keeps its port).
* **Preemption / time limit.** submitit asks SLURM for its signal (``--signal=USR2@<delay>``) and installs a
  USR2 handler that calls ``checkpoint()`` and requeues at once -- in the middle of a training step, where
  no consistent state can be saved. ``TrainJob`` therefore takes the signal over for the duration of
  training: it hands the training loop the ordinary :class:`SignalAndWallTimeHooks` (which already stop
  the loop on SIGTERM/SIGUSR1/SIGUSR2 and save ``state.pt`` at the next step boundary), keeping
  submitit's handler aside. When the loop returns ``suspended`` because of the preemption signal, rank 0
  calls submitit's handler itself -- now between steps, with the state on disk. The handler does what it
  always does: ``checkpoint()`` (which returns a ``DelayedSubmission`` of this same job), counts time-outs
  against ``slurm_max_num_timeout``, ``scontrol requeue``, exit. The requeued job resumes from
  ``state.pt`` by the normal resume path, so it ends bit-identical to an uninterrupted run (tested).
  SIGTERM alone (``scancel``) also saves the state; if the preemption signal does not follow within
  ``term_grace_s`` the job ends with :class:`TrainingInterrupted` (launch it again to resume).

The training code (``ganrepro.training``) never imports submitit; every submitit detail lives here.
Every attempt of a job appends one line to ``<run_dir>/launch.jsonl`` (job id, restart count, status, step).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import submitit
import torch
import torch.distributed as dist

from .. import paths
from ..config import list_experiments
from ..data import open_archive
from ..errors import ConfigError, GanreproError
from ..stages.train import train_resolved
from ..training.hooks import SignalAndWallTimeHooks
from .dag import PipelineDAG

EXIT_SUSPENDED = 75  # same as `ganrepro train`: state saved, the job is being requeued by rank 0
MASTER_PORT_BASE = 20000
LAUNCH_LOG = "launch.jsonl"


class TrainingInterrupted(GanreproError):
    """Stopped by a signal that is not submitit's preemption signal (e.g. scancel); the state is saved."""


@dataclasses.dataclass
class SlurmResources:
    """What one training job asks SLURM for. ``None`` means "from params" (see :func:`submit`)."""

    partition: str | None = None
    account: str | None = None
    gpus_per_node: int | None = None  # None: the experiment's GPUs at GPU scales, 0 at CPU scales
    tasks_per_node: int | None = None  # None: one task per GPU (1 on CPU)
    nodes: int = 1
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    timeout_min: int | None = None  # None: the paper's GPU-hours over its GPUs, +25 % (as the Snakemake rule)
    signal_delay_s: int = 90  # USR2 this long before the time limit: one step + saving the state must fit
    max_num_timeout: int = 3  # requeues after a time-out (preemptions are not counted); an executor setting
    additional: dict = dataclasses.field(default_factory=dict)  # extra #SBATCH options, e.g. {"qos": "high"}

    def executor_parameters(self) -> dict:
        gpus = self.gpus_per_node or 0
        params = {
            "timeout_min": self.timeout_min or 60,
            "nodes": self.nodes,
            "tasks_per_node": self.tasks_per_node or max(1, gpus),
            "slurm_signal_delay_s": self.signal_delay_s,
        }
        optional = {"gpus_per_node": gpus or None, "cpus_per_task": self.cpus_per_task, "mem_gb": self.mem_gb,
                    "slurm_partition": self.partition, "slurm_account": self.account,
                    "slurm_additional_parameters": self.additional or None}
        params.update({k: v for k, v in optional.items() if v is not None})
        return params


def distributed_env(env) -> dict[str, str]:
    """torch.distributed's env:// variables for this task, from a submitit ``JobEnvironment``."""
    master = "127.0.0.1" if env.num_nodes == 1 else env.hostnames[0]
    digits = "".join(ch for ch in str(env.raw_job_id) if ch.isdigit()) or "0"
    return {
        "RANK": str(env.global_rank),
        "WORLD_SIZE": str(env.num_tasks),
        "LOCAL_RANK": str(env.local_rank),
        "LOCAL_WORLD_SIZE": str(max(1, env.num_tasks // max(1, env.num_nodes))),
        "MASTER_ADDR": master,
        "MASTER_PORT": str(MASTER_PORT_BASE + int(digits) % 20000),
    }


def preemption_signal() -> signal.Signals:
    """submitit's preemption/time-out signal (USR2 unless SUBMITIT_PREEMPT_SIGNAL says otherwise)."""
    return getattr(signal, "SIG" + submitit.JobEnvironment.USR_SIG)


class _JobHooks(SignalAndWallTimeHooks):
    """The loop's ordinary signal hooks, remembering every signal and the handlers they replaced."""

    def __init__(self, preempt: signal.Signals):
        self.SIGNALS = tuple(dict.fromkeys((*SignalAndWallTimeHooks.SIGNALS, preempt)))
        self.previous = {sig: signal.getsignal(sig) for sig in self.SIGNALS}
        self.received: list[int] = []
        super().__init__(max_minutes=None)

    def _handle(self, signum, frame) -> None:
        self.received.append(signum)
        super()._handle(signum, frame)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


class TrainJob(submitit.helpers.Checkpointable):
    """One experiment on SLURM: every task of the job runs this; rank 0 writes the outputs.

    Holds only the resolved config and the working directory: the training state lives in the run
    directory, so ``checkpoint()`` resubmits the job unchanged and the requeued job resumes from disk.
    """

    def __init__(self, cfg: dict, workdir: str, *, progress: bool = False, term_grace_s: float = 3.0):
        self.cfg = cfg
        self.workdir = str(workdir)
        self.progress = progress
        self.term_grace_s = term_grace_s

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Called by submitit's handler (from :meth:`__call__`, after the state is saved): requeue as is."""
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)

    def __call__(self) -> dict:
        os.chdir(self.workdir)  # config paths are relative to the project root
        job_env = submitit.JobEnvironment()
        os.environ.update(distributed_env(job_env))
        rank = job_env.global_rank
        if os.environ.get("SLURM_CPUS_PER_TASK"):  # no oversubscription with several tasks per node
            torch.set_num_threads(int(os.environ["SLURM_CPUS_PER_TASK"]))
        name = f"{self.cfg['paper']}/{self.cfg['experiment']} ({self.cfg['scale']})"
        print(f"ganrepro launch: {name} on {job_env}, master {os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}",
              flush=True)

        preempt = preemption_signal()
        hooks = _JobHooks(preempt)
        try:
            result = train_resolved(self.cfg, hooks=hooks, progress=self.progress and rank == 0)
        finally:
            _destroy_process_group()
        received = [signal.Signals(s).name for s in hooks.received]  # when the loop stopped
        if rank == 0:
            self._log_attempt(job_env, result, received)
        if result["status"] != "suspended":
            hooks.restore()
            return result
        if rank != 0:  # rank 0 saved the state and requeues the whole job; no result file for this attempt
            print(f"ganrepro launch: {name} rank {rank} stopped at step {result['step']} by {received}", flush=True)
            hooks.restore()
            sys.exit(EXIT_SUSPENDED)
        print(f"ganrepro launch: {name} stopped at step {result['step']} by {received}; state saved", flush=True)
        deadline = time.monotonic() + self.term_grace_s  # SIGTERM may come just before the preemption signal
        while preempt not in hooks.received and time.monotonic() < deadline:
            time.sleep(0.1)
        hooks.restore()
        if preempt in hooks.received:
            submitit_handler = hooks.previous[preempt]
            if not callable(submitit_handler):
                raise TrainingInterrupted(f"{name}: preempted, state saved, but no submitit handler to requeue")
            submitit_handler(preempt, None)  # checkpoint() + scontrol requeue + exit (or raise if out of retries)
        raise TrainingInterrupted(
            f"{name}: stopped at step {result['step']} by {received}, state saved in "
            f"{self.cfg['paths']['run_dir']}; launch it again to resume")

    def _log_attempt(self, job_env, result: dict, received: list[str]) -> None:
        line = {"job_id": job_env.job_id, "restart": int(os.environ.get("SLURM_RESTART_COUNT", "0")),
                "status": result["status"], "step": result["step"], "kimg": result["kimg"], "signals": received,
                "world_size": job_env.num_tasks, "host": socket.gethostname(), "time": time.time()}
        path = Path(self.cfg["paths"]["run_dir"]) / LAUNCH_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(json.dumps(line) + "\n")


def _destroy_process_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# --- submitting ---------------------------------------------------------------------------------------


def make_executor(folder: str | os.PathLike = paths.SUBMITIT, cluster: str | None = "slurm", *,
                  max_num_timeout: int = 3) -> submitit.AutoExecutor:
    return submitit.AutoExecutor(folder=folder, cluster=cluster, slurm_max_num_timeout=max_num_timeout)


def submit_run(executor: submitit.AutoExecutor, cfg: dict, resources: SlurmResources, *,
               workdir: str | os.PathLike | None = None) -> submitit.Job:
    """Submit one resolved config as one job."""
    executor.update_parameters(name=f"{cfg['paper']}-{cfg['experiment']}-{cfg['scale']}",
                               **resources.executor_parameters())
    return executor.submit(TrainJob(cfg, str(workdir or os.getcwd())))


def runs_to_train(dag: PipelineDAG, paper: str, names: list[str]) -> list[str]:
    """One job per run: an experiment that trains what another trains (config/shared.py) is that run's job."""
    owners = {exp: dag.run(paper, exp)["paths"].get("trained_by", exp) for exp in names}
    for exp, owner in owners.items():
        if owner != exp:
            print(f"{paper}/{exp}: trained by {owner}'s run (identical training at scale {dag.scale}); submitting {owner}")
    return list(dict.fromkeys(owners.values()))


def submit(paper: str, experiments: list[str] | None, scale: str, resources: SlurmResources | None = None, *,
           folder: str | os.PathLike = paths.SUBMITIT,
           cluster: str | None = "slurm") -> list[tuple[str, submitit.Job]]:
    """Submit experiments of `paper` at `scale` (all of them when `experiments` is empty): [(experiment, job)]."""
    resources = resources or SlurmResources()
    dag = PipelineDAG(scale, (paper,))
    names = list(experiments or list_experiments(paper, dag.params))
    unknown = [e for e in names if e not in dag.experiments(paper)]
    if unknown:
        raise ConfigError(f"unknown experiment(s) {unknown} for {paper}; allowed: {', '.join(dag.experiments(paper))}")
    names = runs_to_train(dag, paper, names)
    for exp in names:  # before submitting anything: a missing dataset names the command that builds it
        open_archive(dag.run(paper, exp)["dataset"]["path"], verify=False)
    executor = make_executor(folder, cluster, max_num_timeout=resources.max_num_timeout)
    jobs = []
    for exp in names:
        res = dataclasses.replace(
            resources,
            gpus_per_node=dag.gpus(paper, exp) if resources.gpus_per_node is None else resources.gpus_per_node,
            timeout_min=resources.timeout_min or dag.runtime_minutes(paper, exp))
        jobs.append((exp, submit_run(executor, dag.run(paper, exp), res)))
    return jobs


def wait(jobs: list[tuple[str, submitit.Job]], *, poll_s: float = 2.0, timeout_s: float | None = None) -> int:
    """Wait for every job (through requeues); print each outcome; 0 when all trained (ok), else 1."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pending = list(jobs)
    failures = 0
    while pending:
        for exp, job in list(pending):
            if not job.done():
                continue
            pending.remove((exp, job))
            try:
                result = job.results()[0]
                print(f"{exp}: job {job.job_id} {result['status']} at step {result['step']}")
                failures += result["status"] != "ok"
            except Exception as exc:  # submitit's FailedJobError / UncompletedJobError carry the job's log
                last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
                print(f"{exp}: job {job.job_id} did not finish: {last}")
                failures += 1
        if pending and deadline is not None and time.monotonic() > deadline:
            print(f"gave up waiting for {[e for e, _ in pending]} after {timeout_s:.0f} s (jobs left running)")
            return 1
        if pending:
            time.sleep(poll_s)
    return 1 if failures else 0


def launch(paper: str, experiments: list[str] | None, scale: str, resources: SlurmResources, *,
           folder: str = paths.SUBMITIT, wait_for_jobs: bool = False) -> int:
    """The `ganrepro launch` command: submit, print the job ids, optionally wait for the outcomes."""
    jobs = submit(paper, experiments, scale, resources, folder=folder)
    for exp, job in jobs:
        print(f"{paper}/{exp} ({scale}): job {job.job_id}, log {job.paths.stdout}")
    return wait(jobs) if wait_for_jobs else 0
