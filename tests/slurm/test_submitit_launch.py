"""`ganrepro launch` on the real local SLURM cluster: a CLI launch, preemption + requeue, a 2-task DDP job.

Every wait has a deadline. Two cluster facts the tests work around:
- SLURM holds a requeued job for about 2 minutes (pending reason ``BeginTime``); the tests move its
  start time to now with ``scontrol update`` as soon as the job is pending again.
- submitit counts every interruption of a job whose time limit is under 10 minutes as a time-out (its
  "guaranteed walltime" is ``min(0.8 * limit, limit - 10 min)``); the jobs ask for 15 minutes so the
  interruption is seen as the preemption it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slurm

submitit = pytest.importorskip("submitit")

from ganrepro.config import resolve_run  # noqa: E402
from ganrepro.data.archive import write_archive  # noqa: E402
from ganrepro.orchestration.launch import LAUNCH_LOG, SlurmResources, make_executor, submit_run  # noqa: E402

JOB_TIMEOUT_S = 150
STEPS = 120  # tiny config, batch 8: 0.96 kimg; about 10 s of training, long enough to interrupt mid-way


def _cfg(root: Path, run: str, kimg: float = STEPS * 8 / 1000) -> dict:
    cfg = resolve_run("r3gan", "t3-e-stackedmnist", "tiny")
    cfg["dataset"]["path"] = str(root / "data")
    d = root / run
    cfg["paths"] = {"run_dir": str(d), "network": str(d / "network.pt"), "result": str(d / "result.json"),
                    "metrics": str(d / "metrics.json")}
    # No periodic snapshots: the only mid-run state is the one saved on the preemption signal.
    cfg["train"].update(kimg=kimg, tick_kimg=0.04, snapshot_ticks=10_000)
    # The paper's lr, not the small-scale recipe's 10x: the DDP-vs-one-process tolerance below was measured
    # at it (Adam carries float summation-order differences forward in proportion to the step size).
    cfg["schedule"]["lr"] = {"curve": "constant", "start": 2e-4, "end": 2e-4, "kimg": 0.0}
    return cfg


def _resources(cluster, **kw) -> SlurmResources:
    return SlurmResources(partition=cluster.partition, timeout_min=15, cpus_per_task=1, **kw)


def _wait_done(job, timeout: float = JOB_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not job.done():
        if time.monotonic() > deadline:
            job.cancel(check=False)
            pytest.fail(f"job {job.job_id} not done after {timeout} s (state {job.state}):\n{_logs(job)}")
        time.sleep(0.5)


def _logs(job) -> str:
    return f"{job.stdout() or ''}\n{job.stderr() or ''}"[-4000:]


def _wait_ticks(run_dir: Path, ticks: int, job, timeout: float = JOB_TIMEOUT_S) -> None:
    stats = run_dir / "stats.jsonl"
    deadline = time.monotonic() + timeout
    while not (stats.exists() and len(stats.read_text().splitlines()) >= ticks):
        if time.monotonic() > deadline or job.done():
            pytest.fail(f"job {job.job_id}: no {ticks} ticks after {timeout} s (state {job.state}):\n{_logs(job)}")
        time.sleep(0.2)


def _release_requeued(cluster, job, timeout: float = 60) -> None:
    """Once the interrupted job is pending again, start it now instead of after SLURM's requeue hold."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = cluster.run("squeue", "-h", "-j", job.job_id, "-o", "%T %r", check=False).stdout.strip()
        if out.startswith("PENDING"):
            cluster.run("scontrol", "update", f"JobId={job.job_id}", "StartTime=now")
            return
        if job.done():
            return
        time.sleep(0.3)
    pytest.fail(f"job {job.job_id} was not requeued within {timeout} s (squeue: {out!r}):\n{_logs(job)}")


def _launch_log(run_dir: Path) -> list[dict]:
    return [json.loads(l) for l in (run_dir / LAUNCH_LOG).read_text().splitlines()]


def _nets(run_dir: Path) -> dict:
    return torch.load(run_dir / "state.pt", map_location="cpu", weights_only=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("launch")
    rng = np.random.default_rng(0)
    write_archive(root / "data", rng.integers(0, 256, size=(64, 3, 8, 8), dtype=np.uint8), None,
                  dataset="random", source="test")
    return root


@pytest.fixture(scope="module")
def reference(slurm_cluster, workdir):
    """An uninterrupted run of the long config, submitted early so it runs beside the interrupted one."""
    executor = make_executor(workdir / "submitit-ref")
    job = submit_run(executor, _cfg(workdir, "reference"), _resources(slurm_cluster), workdir=workdir)
    return job, workdir / "reference"


def test_cli_launch_trains_one_experiment(slurm_cluster, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", GANREPRO_WORKDIR=str(tmp_path))  # a workspace outside the checkout
    cli = [sys.executable, "-m", "ganrepro.cli"]
    prep = subprocess.run([*cli, "prepare-data", "--dataset", "stackedmnist", "--scale", "tiny"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=180)
    assert prep.returncode == 0, prep.stderr
    launch = subprocess.run(
        [*cli, "launch", "--paper", "r3gan", "--experiments", "t1-rpgan-r1r2", "--scale", "tiny",
         "--partition", slurm_cluster.partition, "--timeout-min", "5", "--folder", "logs/submitit", "--wait"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    assert launch.returncode == 0, launch.stdout + launch.stderr
    assert "t1-rpgan-r1r2: job" in launch.stdout and "ok at step 20" in launch.stdout, launch.stdout

    run_dir = tmp_path / "runs" / "tiny" / "r3gan" / "t1-rpgan-r1r2"
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "ok" and result["step"] == 20
    network = torch.load(run_dir / "network.pt", map_location="cpu", weights_only=False)
    assert network["status"] == "ok" and network["config"]["experiment"] == "t1-rpgan-r1r2"
    (line,) = _launch_log(run_dir)
    assert line["status"] == "ok" and line["restart"] == 0 and line["world_size"] == 1
    assert slurm_cluster.wait_state(line["job_id"], {"COMPLETED"}) == "COMPLETED"


def test_preempted_job_saves_requeues_and_matches_uninterrupted_run(slurm_cluster, workdir, reference):
    cfg = _cfg(workdir, "preempted")
    run_dir = Path(cfg["paths"]["run_dir"])
    job = submit_run(make_executor(workdir / "submitit"), cfg, _resources(slurm_cluster), workdir=workdir)
    _wait_ticks(run_dir, 2, job)
    job._interrupt()  # what submitit offers for tests: SIGTERM, then USR2 (preemption) to the job's tasks
    _release_requeued(slurm_cluster, job)
    _wait_done(job)
    ref_job, ref_dir = reference
    _wait_done(ref_job)

    assert job.result()["status"] == "ok", _logs(job)
    first, second = _launch_log(run_dir)
    assert first["status"] == "suspended" and 0 < first["step"] < STEPS, first
    assert first["restart"] == 0 and set(first["signals"]) <= {"SIGTERM", "SIGUSR2"} and first["signals"], first
    assert second == {**second, "status": "ok", "step": STEPS, "restart": 1, "job_id": first["job_id"]}
    assert "this job is preempted" in job.stdout()  # submitit's handler ran: preemption, not a time-out
    assert f"resumed from {run_dir / 'state.pt'} at step {first['step']}" in job.stdout()

    ref, got = _nets(ref_dir), _nets(run_dir)
    assert ref["step"] == got["step"] == STEPS
    for net in ("G", "D", "G_ema"):
        assert ref[net].keys() == got[net].keys()
        for key in ref[net]:
            assert torch.equal(ref[net][key], got[net][key]), f"{net}.{key}"
    steps = lambda d: [json.loads(l)["step"] for l in (d / "stats.jsonl").read_text().splitlines()]
    assert steps(run_dir) == steps(ref_dir)


def test_two_task_ddp_job_is_preempted_requeued_and_finishes(slurm_cluster, workdir, reference):
    cfg = _cfg(workdir, "ddp")
    run_dir = Path(cfg["paths"]["run_dir"])
    job = submit_run(make_executor(workdir / "submitit-ddp"), cfg, _resources(slurm_cluster, tasks_per_node=2),
                     workdir=workdir)
    _wait_ticks(run_dir, 2, job)
    job._interrupt()
    _release_requeued(slurm_cluster, job)
    _wait_done(job)

    results = job.results()  # one per task
    assert [(r["status"], r["step"]) for r in results] == [("ok", STEPS)] * 2, _logs(job)
    first, second = _launch_log(run_dir)  # rank 0 alone logs
    assert first["status"] == "suspended" and 0 < first["step"] < STEPS and first["world_size"] == 2, first
    assert second["status"] == "ok" and second["restart"] == 1 and second["world_size"] == 2, second
    # Same global batch as the 1-process reference: equal up to float summation order, which Adam carries
    # forward. Measured after 120 steps: max |weight difference| 6e-5 (weights up to 3.4), final losses
    # equal to 5 digits; a wrong shard, seed or noise per rank moves both by orders of magnitude more.
    ref_job, ref_dir = reference
    _wait_done(ref_job)
    ref, got = _nets(ref_dir), _nets(run_dir)
    for net in ("G", "D", "G_ema"):
        for key in ref[net]:
            torch.testing.assert_close(got[net][key], ref[net][key], rtol=0, atol=5e-4, msg=f"{net}.{key}")
    last = lambda d: json.loads((d / "stats.jsonl").read_text().splitlines()[-1])
    for stat in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert last(run_dir)[stat] == pytest.approx(last(ref_dir)[stat], rel=1e-3, abs=1e-4), stat
