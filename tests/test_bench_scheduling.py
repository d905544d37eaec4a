"""`ganrepro bench-scheduling`: the overhead measure runs end to end (local executor, a few trivial jobs)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganrepro.orchestration.overhead import CHAIN_SNAKEFILE, executor_args

pytestmark = pytest.mark.slow


def test_local_chain_overhead_is_measured(tmp_path):
    cli = Path(sys.executable).parent / "ganrepro"
    proc = subprocess.run([str(cli), "bench-scheduling", "--what", "overhead", "--jobs", "3", "--json",
                           "--keep", str(tmp_path / "b")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)["chain"]
    assert out["jobs"] == 3 and out["executor"] == "local"
    assert 0 <= out["gap_mean_s"] < 30 and out["to_first_job_s"] > 0 and out["wall_s"] > out["job_busy_s"]
    assert len(list((tmp_path / "b" / "chain" / "chain").glob("*.txt"))) == 3


def test_executor_args():
    assert executor_args("local", cores=2) == ["--cores", "2"]
    args = executor_args("slurm", workflow_profile="tests/slurm/profile")
    assert args[0] == "--profile" and args[1].endswith("slurm") and args[2:] == ["--workflow-profile",
                                                                                 "tests/slurm/profile"]
    with pytest.raises(ValueError):
        executor_args("pbs")
    assert "rule step" in CHAIN_SNAKEFILE.format(n=2)
