"""The real DAG through sbatch: the tiny R3GAN pipeline on the local SLURM cluster.

Runs `snakemake --profile slurm --workflow-profile tests/slurm/profile` (the shipped profile, with the
test cluster's names and fast status checks layered over it) for the metrics of one StackedMNIST run
(mode counting) and one FID run, every training job asking for a GPU (`--set-resources train:gpu=1`, the cluster's fake
GRES), and the same targets locally: the reproduced numbers must be equal. Then the cluster is brought
down while a job runs and back up, and the re-run completes without redoing what had finished.

Budget: about 4-5 minutes on a busy 2-core machine (each job costs ~12 s of SLURM polling on a chain).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from dagutil import REPO, params_with_tiny, snakemake_cmd, snakemake_env

EXPERIMENTS = ["t1-rpgan-r1r2", "t4-e-ffhq256"]
# The two runs' metrics records (a table job per paper would need every run of the paper)
TARGETS = [f"results/metrics/tiny/r3gan/{exp}.json" for exp in EXPERIMENTS]
RUN_TIMEOUT_S = 600
PROFILE = ["--profile", str(REPO / "slurm"), "--workflow-profile", str(REPO / "tests" / "slurm" / "profile")]
# --set-resources on the command line replaces the profile's mapping: repeat the test profile's values.
GPU_RESOURCES = ["--set-resources", "train:gpu=1", "train:mem_mb=1000", "evaluate:mem_mb=1000"]
CLUSTER_SCRIPT = REPO / "scripts" / "slurm" / "cluster.sh"


def _start(work: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "snakemake.out", "w") as log:
        return subprocess.Popen(snakemake_cmd(work, *args), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env or snakemake_env(work), start_new_session=True)


def _finish(proc: subprocess.Popen, work: Path, timeout: float) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        pytest.fail(f"snakemake in {work} did not finish within {timeout} s:\n"
                    + (work / "snakemake.out").read_text()[-4000:])
    out = (work / "snakemake.out").read_text()
    assert proc.returncode == 0, out[-6000:]
    return out


@pytest.fixture(scope="module")
def slurm_and_local(slurm_cluster, tmp_path_factory):
    """The same targets through SLURM (GPU-requesting training jobs) and locally, run side by side."""
    root = tmp_path_factory.mktemp("dag-slurm")
    t0 = time.monotonic()
    on_slurm = _start(root / "slurm", *TARGETS, *PROFILE, *GPU_RESOURCES, "--config", "scale=tiny")
    local = _start(root / "local", *TARGETS, "--cores", "1", "--config", "scale=tiny")
    _finish(local, root / "local", RUN_TIMEOUT_S)
    _finish(on_slurm, root / "slurm", RUN_TIMEOUT_S - (time.monotonic() - t0))
    return root / "slurm", root / "local"


@pytest.mark.slurm
def test_metrics_through_sbatch_equal_the_local_run(slurm_and_local):
    on_slurm, local = slurm_and_local
    for exp in EXPERIMENTS:
        ra = json.loads((on_slurm / f"results/metrics/tiny/r3gan/{exp}.json").read_text())
        rb = json.loads((local / f"results/metrics/tiny/r3gan/{exp}.json").read_text())
        assert {k: v["value"] for k, v in ra["metrics"].items()} == {k: v["value"] for k, v in rb["metrics"].items()}


@pytest.mark.slurm
def test_every_job_ran_as_a_slurm_job_and_training_got_a_gpu(slurm_and_local, slurm_cluster):
    on_slurm, local = slurm_and_local
    for exp in EXPERIMENTS:
        result = json.loads((on_slurm / f"runs/tiny/r3gan/{exp}/result.json").read_text())
        sched = result["provenance"]["scheduler"]
        job = sched["SLURM_JOB_ID"]
        assert sched["CUDA_VISIBLE_DEVICES"] == "0"            # the fake GRES was allocated to the step
        assert result["provenance"]["device"].startswith("cpu")  # no CUDA here: training fell back to CPU
        assert slurm_cluster.wait_state(job, {"COMPLETED"}, timeout=30) == "COMPLETED"
        assert "gres/gpu=1" in slurm_cluster.sacct_field(job, "AllocTRES")
        metrics = json.loads((on_slurm / f"results/metrics/tiny/r3gan/{exp}.json").read_text())
        assert metrics["provenance"]["scheduler"]["SLURM_JOB_ID"] != job   # evaluation: its own job,
        assert "CUDA_VISIBLE_DEVICES" not in metrics["provenance"]["scheduler"]  # without a GPU at tiny
        local_result = json.loads((local / f"runs/tiny/r3gan/{exp}/result.json").read_text())
        assert "SLURM_JOB_ID" not in local_result["provenance"]["scheduler"]
    # The shipped profile keeps the logs of successful jobs.
    logs = list((on_slurm / ".snakemake" / "slurm_logs" / "rule_train").rglob("*.log"))
    assert len(logs) == len(EXPERIMENTS), logs


@pytest.mark.slurm
def test_shipped_profile_maps_params_to_sbatch_resources(tmp_path):
    """Dry runs with the real profile: paper-scale training asks for the experiment's GPUs and runtime."""
    def dry(scale: str) -> str:
        proc = subprocess.run(snakemake_cmd(tmp_path, "-n", "--profile", str(REPO / "slurm"), "--config",
                                            f"scale={scale}"),
                              capture_output=True, text=True, env=snakemake_env(tmp_path), timeout=180)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    from ganrepro.orchestration.dag import PipelineDAG

    paper = PipelineDAG("paper")
    out = dry("paper")
    exp = "t4-e-ffhq256"
    block = _job_block(out, f"runs/paper/r3gan/{exp}/network.pt")
    assert re.search(rf"\bgpu={paper.gpus('r3gan', exp)}\b", block) and paper.gpus("r3gan", exp) >= 1
    assert re.search(rf"\bruntime={paper.runtime_minutes('r3gan', exp)}\b", block)
    assert "slurm_extra=--signal=USR1@300" in block and "cpus_per_gpu=8" in block
    assert re.search(r"\bgpu=1\b", _job_block(out, f"results/metrics/paper/r3gan/{exp}.json"))  # Inception FID
    tiny = dry("tiny")
    assert re.search(r"\bgpu=0\b", _job_block(tiny, "runs/tiny/r3gan/t4-e-ffhq256/network.pt"))  # CPU scale
    assert re.search(r"\bgpu=0\b", _job_block(tiny, "results/metrics/tiny/r3gan/t4-e-ffhq256.json"))


def _job_block(out: str, output: str) -> str:
    """The dry-run paragraph of the job that writes `output`."""
    for block in out.split("\n\n"):
        if re.search(rf"output: ([^\n]*, )?{re.escape(output)}", block):
            return block
    raise AssertionError(f"no job writes {output}:\n{out[-3000:]}")


def _cluster(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CLUSTER_SCRIPT), command], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.mark.slurm
def test_cluster_down_mid_run_then_rerun_completes_without_redoing_finished_jobs(slurm_cluster, tmp_path):
    queue = slurm_cluster.run("squeue", "-h", "-o", "%i %j").stdout.strip()
    if queue:
        pytest.skip(f"the cluster runs other jobs; not bringing it down under them:\n{queue}")
    work = tmp_path / "w"
    # Longer training (200 steps instead of 20) so the cluster goes down while it runs.
    env = snakemake_env(work, GANREPRO_PARAMS=str(params_with_tiny(tmp_path / "params", kimg=1.6)))
    target = "runs/tiny/r3gan/t1-rpgan-r1r2/network.pt"
    args = [target, *PROFILE, "--config", "scale=tiny"]
    proc = _start(work, *args, env=env)
    network = work / target
    deadline = time.monotonic() + 300
    # Wait until the training job runs on the cluster (the plugin puts the rule name in the job comment)
    # and has saved a state.
    while time.monotonic() < deadline:
        running = slurm_cluster.run("squeue", "-h", "-t", "RUNNING", "-o", "%k", check=False).stdout
        if (re.search(r"^rule_train_wildcards", running, flags=re.M) and (network.parent / "state.pt").exists()
                and not network.exists()):
            break
        assert proc.poll() is None, (work / "snakemake.out").read_text()[-4000:]
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("training never started on the cluster:\n" + (work / "snakemake.out").read_text()[-4000:])
    finished = _outputs(work)
    assert work / "data/tiny/stackedmnist/manifest.json" in finished
    mtimes = {f: f.stat().st_mtime_ns for f in finished}

    down = _cluster("down")
    assert down.returncode == 0, down.stdout + down.stderr
    # The controller cannot reach the cluster any more: give it a moment, then kill it (a lost login node).
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not network.exists()  # the training job was killed with the cluster
    up = _cluster("up")
    assert up.returncode == 0, up.stdout + up.stderr

    # A killed controller leaves its directory lock behind: unlock, then the same command again
    # (the profile sets rerun-incomplete).
    subprocess.run(snakemake_cmd(work, "--unlock", "--config", "scale=tiny"), capture_output=True,
                   env=env, timeout=120, check=True)
    out = _finish(_start(work, *args, env=env), work, RUN_TIMEOUT_S)
    assert network.exists()
    assert json.loads((network.parent / "result.json").read_text())["step"] == 200
    assert "rule prepare_data" not in out
    redone = [f for f in finished if f.stat().st_mtime_ns != mtimes[f]]
    assert not redone
    log = (work / "logs/tiny/train/r3gan/t1-rpgan-r1r2.log").read_text()
    assert re.search(r"resumed from \S+state.pt at step [1-9]", log), log  # continued from its saved state
    assert len(list((work / ".snakemake" / "slurm_logs" / "rule_train").rglob("*.log"))) >= 1


def _outputs(work: Path) -> list[Path]:
    """Declared outputs that exist now (datasets, instruments, parameter counts, networks, metrics)."""
    pats = ["data/tiny/*/manifest.json", "data/tiny/instruments/*.pt", "results/metrics/params/*.json",
            "runs/tiny/r3gan/*/network.pt", "results/metrics/tiny/r3gan/*.json"]
    return sorted(p for pat in pats for p in work.glob(pat))
