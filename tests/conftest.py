import os

import pytest
import torch

os.environ.setdefault("MPLCONFIGDIR", "/tmp/ganrepro-mpl")
torch.set_num_threads(1)


@pytest.fixture
def in_tmp_workdir(tmp_path, monkeypatch):
    """Run a test from an empty working directory (all pipeline paths are relative to it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- Shared tiny DAG run (report and e2e tests) -------------------------------------------------------------
# One `snakemake --config scale=tiny` run of the whole DAG per test session, in a temporary directory,
# shared by tests/test_pipeline_e2e.py and tests/test_report.py (helpers in tests/dagutil.py).
import subprocess  # noqa: E402

from dagutil import snakemake_cmd, snakemake_env  # noqa: E402

TINY_RUN_TIMEOUT_S = 2700  # the whole tiny DAG of every paper (~260 jobs)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole R3GAN DAG at tiny scale, run once per session; returns its working directory."""
    work = tmp_path_factory.mktemp("dag")
    cmd = snakemake_cmd(work, "--cores", "2", "--config", "scale=tiny", "--quiet")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=snakemake_env(work), timeout=TINY_RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return work
# --- end of the shared tiny DAG run ------------------------------------------------------------------------
