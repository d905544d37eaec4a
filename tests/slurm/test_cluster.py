"""Smoke tests of the local SLURM cluster: sbatch/sacct, fake GPU, submitit, scancel.

Every wait is bounded: sacct is polled against a deadline, submitit results are
only fetched once the job is done, and subprocesses carry timeouts.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

JOB_TIMEOUT_S = 60


def _write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\nset -euo pipefail\n" + body)
    path.chmod(0o755)
    return path


def test_sbatch_job_completes_and_is_accounted(slurm_cluster, tmp_path):
    out = tmp_path / "result.txt"
    script = _write_script(
        tmp_path / "job.sh",
        f'echo "hello from $SLURM_JOB_ID on $SLURM_JOB_PARTITION" > {out}\n',
    )
    job_id = slurm_cluster.sbatch(f"--output={tmp_path}/slurm-%j.out", "--time=1", str(script))

    state = slurm_cluster.wait_state(job_id, timeout=JOB_TIMEOUT_S)

    assert state == "COMPLETED"
    assert out.read_text().strip() == f"hello from {job_id} on {slurm_cluster.partition}"
    assert slurm_cluster.sacct_field(job_id, "ExitCode") == "0:0"
    assert slurm_cluster.sacct_field(job_id, "Partition") == slurm_cluster.partition


def test_gpu_job_runs_on_fake_gres(slurm_cluster, tmp_path):
    out = tmp_path / "gpu.txt"
    # The second line mimics Snakemake's job step: srun inside the allocation
    # with SLURM_CONF stripped, so srun must find /etc/slurm/slurm.conf.
    script = _write_script(
        tmp_path / "gpu.sh",
        f'echo "batch=${{CUDA_VISIBLE_DEVICES:-unset}}" > {out}\n'
        "unset SLURM_CONF\n"
        f"srun --ntasks=1 bash -c 'echo \"step=${{CUDA_VISIBLE_DEVICES:-unset}}\"' >> {out}\n",
    )
    job_id = slurm_cluster.sbatch(
        "--gpus=1", f"--output={tmp_path}/slurm-%j.out", "--time=1", str(script)
    )

    state = slurm_cluster.wait_state(job_id, timeout=JOB_TIMEOUT_S)

    log = (tmp_path / f"slurm-{job_id}.out").read_text()
    assert state == "COMPLETED", log
    assert out.read_text().split() == ["batch=0", "step=0"]
    assert "gres/gpu=1" in slurm_cluster.sacct_field(job_id, "AllocTRES")


def test_more_gpus_than_exist_is_rejected_at_submit(slurm_cluster, tmp_path):
    proc = slurm_cluster.run(
        "sbatch", "--parsable", "--gpus=2", "--wrap", "true", check=False
    )
    assert proc.returncode != 0
    assert "Requested node configuration is not available" in proc.stderr


def _wait_submitit(job, timeout: float) -> None:
    """submitit's job.result() has no timeout: wait for done() under a deadline."""
    deadline = time.monotonic() + timeout
    while not job.done():
        if time.monotonic() > deadline:
            job.cancel(check=False)
            pytest.fail(f"submitit job {job.job_id} not done after {timeout} s (state {job.state})")
        time.sleep(0.5)


def test_submitit_returns_value_and_surfaces_failure(slurm_cluster, tmp_path):
    submitit = pytest.importorskip("submitit")
    from submitit.core.utils import FailedJobError

    # Local functions are pickled by value, so the job does not need to
    # import this test module.
    def add(a, b):
        return a + b

    def explode(message):
        raise ValueError(message)

    executor = submitit.AutoExecutor(folder=tmp_path / "submitit", cluster="slurm")
    executor.update_parameters(
        slurm_partition=slurm_cluster.partition, timeout_min=2, cpus_per_task=1
    )
    ok_job = executor.submit(add, 20, 22)
    bad_job = executor.submit(explode, "boom-from-slurm")

    _wait_submitit(ok_job, JOB_TIMEOUT_S)
    _wait_submitit(bad_job, JOB_TIMEOUT_S)

    assert ok_job.result() == 42
    with pytest.raises(FailedJobError, match="boom-from-slurm"):
        bad_job.result()
    # done() trusts the result file; accounting catches up a moment later.
    assert slurm_cluster.wait_state(ok_job.job_id, timeout=JOB_TIMEOUT_S) == "COMPLETED"
    assert slurm_cluster.wait_state(bad_job.job_id, timeout=JOB_TIMEOUT_S) == "FAILED"


def test_scancel_running_job_is_cancelled_in_sacct(slurm_cluster, tmp_path):
    job_id = slurm_cluster.sbatch(
        f"--output={tmp_path}/slurm-%j.out", "--time=5", "--wrap", "sleep 300"
    )
    slurm_cluster.wait_state(job_id, {"RUNNING"}, timeout=JOB_TIMEOUT_S)

    slurm_cluster.run("scancel", job_id)

    assert slurm_cluster.wait_state(job_id, {"CANCELLED"}, timeout=JOB_TIMEOUT_S) == "CANCELLED"
    # The job's processes are gone once slurm reports it finished.
    deadline = time.monotonic() + 20
    while slurm_cluster.run("squeue", "-h", "-j", job_id, "-o", "%T", check=False).stdout.strip():
        assert time.monotonic() < deadline, "cancelled job still in squeue"
        time.sleep(0.5)
