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
# shared by tests/test_pipeline_e2e.py, tests/test_report.py and the paper DAG tests (helpers in
# tests/dagutil.py). It starts in the background as soon as collection finishes, so the unit tests run
# beside it on the other core, and the tests that read it run last: the suite's wall time is the two
# overlapped (issue 17) instead of the DAG's ~8 minutes on both cores followed by the rest on one.
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

from dagutil import snakemake_cmd, snakemake_env  # noqa: E402

TINY_RUN_TIMEOUT_S = 2700  # the whole tiny DAG of every paper (~160 jobs)
DAG_FIXTURES = ("tiny_run", "tiny_pair")  # tests that read the session's DAG (tiny_pair: tests/test_dvc.py)
_background: dict = {}


def _needs_dag(item) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in DAG_FIXTURES)


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(session, config, items):
    """Tests that read the session's DAG run last (stable order otherwise); start the DAG if any is selected."""
    users = [item for item in items if _needs_dag(item)]
    items[:] = [item for item in items if not _needs_dag(item)] + users
    readers = any("tiny_run" in getattr(item, "fixturenames", ()) for item in items)  # tiny_pair alone: its own
    if readers and not config.option.collectonly:
        _start_tiny_run(config._tmp_path_factory.mktemp("dag"))


def _start_tiny_run(work):
    log = (work / "tiny_dag.log").open("w")
    # niced: the foreground tests keep one core; the DAG takes what they leave (both cores while they wait)
    cmd = ["nice", "-n", "10", *snakemake_cmd(work, "--cores", "2", "--config", "scale=tiny", "--quiet")]
    proc = subprocess.Popen(cmd, env=snakemake_env(work), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    _background.update(work=work, proc=proc, log=log, started=time.monotonic())


def pytest_sessionfinish(session):
    """An interrupted or finished session leaves no DAG running (its job processes included)."""
    proc = _background.get("proc")
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole DAG of every paper at tiny scale, run once per session; returns its working directory."""
    if "proc" not in _background:  # requested by name only (getfixturevalue): start it now
        _start_tiny_run(tmp_path_factory.mktemp("dag"))
    work, proc = _background["work"], _background["proc"]
    left = TINY_RUN_TIMEOUT_S - (time.monotonic() - _background["started"])
    try:
        proc.wait(timeout=max(left, 1))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the tiny DAG ran over {TINY_RUN_TIMEOUT_S} s; its log: {work / 'tiny_dag.log'}")
    _background["log"].close()
    log = (work / "tiny_dag.log").read_text()
    assert proc.returncode == 0, log[-9000:]
    return work
# --- end of the shared tiny DAG run ------------------------------------------------------------------------
