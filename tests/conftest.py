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
# tests/dagutil.py). It starts in the background when the tests start, so the unit tests run
# beside it on the other core, and the tests that read it run last: the suite's wall time is the two
# overlapped (issue 17) instead of the DAG's ~8 minutes on both cores followed by the rest on one.
import contextlib  # noqa: E402
import subprocess  # noqa: E402

import psutil  # noqa: E402

from dagutil import snakemake_cmd, snakemake_env  # noqa: E402

TINY_RUN_TIMEOUT_S = 2700  # the whole tiny DAG of every paper (~160 jobs), from the first test that waits for it
DAG_FIXTURES = ("tiny_run", "tiny_pair")  # tests that read the session's DAG (tiny_pair: tests/test_dvc.py)
_background: dict = {}


def _reads(item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)  # before --lf / --sw / -k select from the list: they see the order that runs
def pytest_collection_modifyitems(items):
    """Tests that read the session's DAG run last, DVC's first among them (its `dvc repro` runs before it
    reads the DAG, so it overlaps the DAG's tail); the order is otherwise the collection's."""
    users = [item for item in items if any(_reads(item, f) for f in DAG_FIXTURES)]
    users.sort(key=lambda item: _reads(item, "tiny_run"))  # stable: modules stay contiguous
    moved = {id(item) for item in users}
    items[:] = [item for item in items if id(item) not in moved] + users


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """Start the DAG in the background when tests are about to run and one of them reads it (not for
    --collect-only, --setup-plan, collection errors, or an xdist worker: each would start its own)."""
    config = session.config
    if (config.option.collectonly or config.option.setupplan or hasattr(config, "workerinput")
            or (session.testsfailed and not config.option.continue_on_collection_errors)):
        return
    if any(_reads(item, "tiny_run") for item in session.items):  # tiny_pair alone runs its own targets
        _start_tiny_run(config._tmp_path_factory.mktemp("dag"))


def _start_tiny_run(work):
    log = (work / "tiny_dag.log").open("w")
    # niced: the foreground tests keep one core; the DAG takes what they leave (both cores while they wait).
    # It stays in pytest's process group, so a kill of the group (a CI timeout) reaches its jobs too.
    cmd = ["nice", "-n", "10", *snakemake_cmd(work, "--cores", "2", "--config", "scale=tiny", "--quiet")]
    proc = subprocess.Popen(cmd, env=snakemake_env(work), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    _background.update(work=work, proc=proc, log=log)


def _stop_tiny_run():
    """The background DAG and its job processes, stopped (SIGTERM, then SIGKILL after 60 s)."""
    proc = _background.get("proc")
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(psutil.NoSuchProcess):
        tree = [psutil.Process(proc.pid)]
        tree += tree[0].children(recursive=True)
        for send in (psutil.Process.terminate, psutil.Process.kill):
            for p in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    send(p)
            tree = psutil.wait_procs(tree, timeout=60)[1]  # those still alive


def pytest_sessionfinish(session):
    """An interrupted or finished session leaves no DAG running (its job processes included)."""
    _stop_tiny_run()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole DAG of every paper at tiny scale, run once per session; returns its working directory."""
    if "proc" not in _background:  # requested by name only (getfixturevalue): start it now
        _start_tiny_run(tmp_path_factory.mktemp("dag"))
    work, proc = _background["work"], _background["proc"]
    try:
        proc.wait(timeout=TINY_RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop_tiny_run()
        pytest.fail(f"the tiny DAG ran over {TINY_RUN_TIMEOUT_S} s after the first test waited for it; "
                    f"its log: {work / 'tiny_dag.log'}")
    _background["log"].close()
    log = (work / "tiny_dag.log").read_text()
    assert proc.returncode == 0, log[-9000:]
    return work
# --- end of the shared tiny DAG run ------------------------------------------------------------------------
