"""Reliability as a user meets it (issue 8): interrupts, locks, messages instead of tracebacks, file modes.

One test per fault: each asserts the message (file or key named, the fix given, no traceback, a
non-zero exit) and that no finished work was lost. Training runs are real `ganrepro train`
subprocesses at tiny scale in a temporary working directory; the shell-script tests run copies of
scripts/main.sh and scripts/env.sh against a two-line Snakefile, so that Snakemake's locking (not
the project's DAG) is what they exercise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from dagutil import REPO, params_with_tiny

from ganrepro import cli
from ganrepro.training.hooks import SignalAndWallTimeHooks
from ganrepro.training.lock import RunLockedError, hold_run_lock
from ganrepro.utils_io import atomic_write, ensure_writable_dir, write_json

EXP = "t2-c-rpgan-r1"  # FID-evaluated (feature CNN) on the ffhq256 stand-in
RUN = f"runs/tiny/r3gan/{EXP}"
KIMG = 0.8  # 100 steps at batch 8; ticks every 5 steps, states every 10
TRAIN = ["train", "--experiment", EXP, "--scale", "tiny", "--no-progress"]
WAIT_S = 120
# `ganrepro train` whose ticks wait, once a state is saved, until a signal has arrived (argv: gate seconds,
# state file, the train arguments): the trainer cannot finish before the test's Ctrl-C, however busy the machine.
GATED_TRAIN = """
import sys, time
from pathlib import Path
from ganrepro import cli
from ganrepro.training.hooks import SignalAndWallTimeHooks

def on_tick(self, stats):
    deadline = time.monotonic() + float(sys.argv[1])
    while self.signalled is None and Path(sys.argv[2]).is_file() and time.monotonic() < deadline:
        time.sleep(0.05)

SignalAndWallTimeHooks.on_tick = on_tick
sys.exit(cli.main(sys.argv[3:]))
"""


def _env(params: Path) -> dict:
    env = dict(os.environ, GANREPRO_PARAMS=str(params), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def _ganrepro(*args: str) -> list[str]:
    return [sys.executable, "-m", "ganrepro.cli", *args]


def _wait(cond, what: str, proc: subprocess.Popen | None = None, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process ended (rc={proc.returncode}) before {what}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "stats.jsonl").read_text().splitlines()]


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    return params_with_tiny(tmp_path_factory.mktemp("rel") / "params", kimg=KIMG)


@pytest.fixture(scope="module")
def interrupted(params, tmp_path_factory):
    """A trainer that a second trainer tries to join, then gets Ctrl-C, then is resumed by the same command.

    The first trainer waits at its ticks after its first saved state until the signal comes
    (``GATED_TRAIN``), so it is inside the loop, and unfinished, when Ctrl-C arrives.
    """
    work = tmp_path_factory.mktemp("interrupted")
    env = _env(params)
    prep = subprocess.run(_ganrepro("prepare-data", "--dataset", "ffhq256", "--scale", "tiny"), cwd=work, env=env,
                          capture_output=True, text=True, timeout=WAIT_S)
    assert prep.returncode == 0, prep.stderr
    run_dir = work / RUN
    gated = [sys.executable, "-c", GATED_TRAIN, str(10 * WAIT_S), str(run_dir / "state.pt"), *TRAIN]
    first = subprocess.Popen(gated, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        lock = run_dir / ".lock"
        _wait(lambda: lock.is_file() and lock.read_text().startswith(f"{first.pid} "), "the trainer's lock", first)
        second = subprocess.run(_ganrepro(*TRAIN), cwd=work, env=env, capture_output=True, text=True, timeout=WAIT_S)
        _wait(lambda: (run_dir / "state.pt").is_file(), "a saved state", first)
        steps_before_sigint = _steps(run_dir)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=WAIT_S)
    finally:
        _kill(first)
    state_step = torch.load(run_dir / "state.pt", map_location="cpu", weights_only=False)["step"]
    stats_after_sigint = _steps(run_dir)
    resumed = subprocess.run(_ganrepro(*TRAIN), cwd=work, env=env, capture_output=True, text=True, timeout=WAIT_S)
    return {"work": work, "second": second, "first_pid": first.pid, "first_rc": first.returncode, "first_out": out, "first_err": err,
            "state_step": state_step, "stats_before_sigint": steps_before_sigint,
            "stats_after_sigint": stats_after_sigint, "resumed": resumed}


# --- interrupts and locks ----------------------------------------------------------------------------------

def test_second_trainer_on_the_same_run_is_refused_naming_the_holder(interrupted):
    second = interrupted["second"]
    assert second.returncode == 2
    assert "another trainer is running in this run directory" in second.stderr
    assert f"(pid {interrupted['first_pid']} on host " in second.stderr, second.stderr
    _no_traceback(second.stderr)
    # The refused trainer wrote nothing: the stats of the first have no duplicated ticks.
    steps = interrupted["stats_after_sigint"]
    assert steps == sorted(set(steps))


def test_ctrl_c_saves_the_state_exits_75_and_the_same_command_resumes(interrupted):
    assert interrupted["first_rc"] == 75, interrupted["first_err"][-3000:]
    _no_traceback(interrupted["first_err"])
    step = interrupted["state_step"]
    assert f"suspended at step {step} " in interrupted["first_out"]
    # The steps since the last tick are in the state: nothing finished was lost.
    assert step >= max(interrupted["stats_after_sigint"]) >= max(interrupted["stats_before_sigint"], default=0)
    resumed = interrupted["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {RUN}/state.pt at step {step} " in resumed.stdout, resumed.stdout
    run_dir = interrupted["work"] / RUN
    assert _steps(run_dir) == list(range(5, round(KIMG * 1000 / 8) + 1, 5))  # every tick once
    assert json.loads((run_dir / "result.json").read_text())["status"] == "ok"


def test_second_ctrl_c_aborts_at_once():
    previous = {sig: signal.getsignal(sig) for sig in SignalAndWallTimeHooks.SIGNALS}
    try:
        hooks = SignalAndWallTimeHooks()
        assert not hooks.should_stop()
        os.kill(os.getpid(), signal.SIGINT)  # first Ctrl-C: stop at the end of the step, state saved
        assert hooks.should_stop()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # second: abort now
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_lock_left_by_a_killed_trainer_does_not_block(tmp_path):
    code = ("import sys, time; from ganrepro.training.lock import hold_run_lock\n"
            "with hold_run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=rf"\(pid {holder.pid} on host "):
            with hold_run_lock(tmp_path):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        _kill(holder)
    assert (tmp_path / ".lock").read_text().startswith(f"{holder.pid} ")  # the dead holder's file is still there
    with hold_run_lock(tmp_path) as path:
        assert path.read_text().startswith(f"{os.getpid()} ")


# --- messages instead of tracebacks ------------------------------------------------------------------------

def _copy_work(interrupted, dst: Path) -> Path:
    shutil.copytree(interrupted["work"], dst, symlinks=True)
    return dst


def _main(capsys, *argv: str) -> tuple[int, str]:
    rc = cli.main(list(argv))
    err = capsys.readouterr().err
    _no_traceback(err)
    return rc, err


def test_corrupt_state_is_a_message_and_the_file_is_kept(interrupted, params, tmp_path, monkeypatch, capsys):
    work = _copy_work(interrupted, tmp_path / "w")
    state = work / RUN / "state.pt"
    blob = state.read_bytes()[:1000]
    state.write_bytes(blob)
    monkeypatch.chdir(work)
    monkeypatch.setenv("GANREPRO_PARAMS", str(params))
    previous = {sig: signal.getsignal(sig) for sig in SignalAndWallTimeHooks.SIGNALS}
    try:
        rc, err = _main(capsys, *TRAIN)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert rc == 2
    assert f"{RUN}/state.pt: cannot read the training state" in err and "Delete it to restart" in err, err
    assert state.read_bytes() == blob  # never deleted nor replaced by a fresh start


@pytest.fixture
def eval_work(interrupted, params, tmp_path, monkeypatch):
    """A copy of the finished run, as the working directory, ready for `ganrepro evaluate`."""
    work = _copy_work(interrupted, tmp_path / "w")
    monkeypatch.chdir(work)
    monkeypatch.setenv("GANREPRO_PARAMS", str(params))
    feature_cnn = work / "data/tiny/instruments/feature_cnn.pt"
    feature_cnn.parent.mkdir(parents=True, exist_ok=True)
    return work


EVALUATE = ["evaluate", "--experiment", EXP, "--scale", "tiny"]


def _truncated_checkpoint(path: Path) -> None:
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("fault", ["missing", "truncated"])
def test_evaluate_with_a_bad_network_names_it_and_the_command(eval_work, capsys, fault):
    network = eval_work / RUN / "network.pt"
    if fault == "missing":
        network.unlink()
    else:
        network.write_bytes(network.read_bytes()[:2000])
    _truncated_checkpoint(eval_work / "data/tiny/instruments/feature_cnn.pt")  # not reached: the network comes first
    rc, err = _main(capsys, *EVALUATE)
    assert rc == 2
    expected = "trained network not found" if fault == "missing" else "cannot read the trained network"
    assert f"{RUN}/network.pt: {expected}" in err, err
    assert f"ganrepro train --paper r3gan --experiment {EXP} --scale tiny" in err
    assert not (eval_work / f"results/metrics/tiny/r3gan/{EXP}.json").exists()


@pytest.mark.parametrize("fault", ["missing", "truncated"])
def test_evaluate_with_a_bad_feature_cnn_names_it_before_sampling(eval_work, capsys, fault):
    feature_cnn = eval_work / "data/tiny/instruments/feature_cnn.pt"
    if fault == "truncated":
        _truncated_checkpoint(feature_cnn)
    rc, err = _main(capsys, *EVALUATE)
    assert rc == 2
    expected = "feature extractor not found" if fault == "missing" else "cannot read the feature extractor"
    assert f"data/tiny/instruments/feature_cnn.pt: {expected}" in err, err
    assert "ganrepro train-extractor --scale tiny" in err
    assert not list((eval_work / "data/tiny/fidelity-cache").glob("*"))  # no real-image statistics computed


def test_unwritable_results_fail_before_any_metric(eval_work, capsys):
    blocked = eval_work / "results/metrics/tiny"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the metrics directory should be\n")
    rc, err = _main(capsys, *EVALUATE)
    assert rc == 2
    assert "results/metrics/tiny/r3gan: cannot write there" in err and "nothing was computed yet" in err, err
    assert not (eval_work / "data/tiny/fidelity-cache").exists()  # metrics were never started
    assert (eval_work / RUN / "network.pt").is_file()


def test_duplicate_yaml_key_names_file_line_and_key(tmp_path, monkeypatch, capsys):
    params = params_with_tiny(tmp_path / "params")
    tiny = params / "scales" / "tiny.yaml"
    lines = tiny.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"[a-z_]+:", line))  # a top-level key
    key = lines[first].split(":")[0]
    tiny.write_text("\n".join([*lines, lines[first]]) + "\n")  # the same key and value again: still refused
    monkeypatch.setenv("GANREPRO_PARAMS", str(params))
    rc, err = _main(capsys, "validate")
    assert rc == 2
    assert f"{tiny}:{len(lines) + 1}: duplicate key '{key}' (already set at line {first + 1})" in err, err


@pytest.mark.parametrize("minutes", ["-5", "0", "nan"])
def test_max_minutes_must_be_positive(minutes, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    rc, err = _main(capsys, *TRAIN, "--max-minutes", minutes)
    assert rc == 2
    assert "--max-minutes must be a positive number of minutes" in err, err
    assert not (tmp_path / "runs").exists()  # refused before anything started


def test_debug_flag_shows_the_traceback(capsys):
    assert cli.main(["resolve", "--paper", "r3gan", "--experiment", "no-such-experiment", "--scale", "tiny", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "unknown experiment" in err


# --- file modes --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_files_and_directories_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        written = [write_json(tmp_path / "a" / "metrics.json", {"x": 1}),
                   atomic_write(tmp_path / "a" / "network.pt", lambda p: torch.save({"w": torch.zeros(2)}, p))]
        directory = ensure_writable_dir(tmp_path / "b" / "c")
        with hold_run_lock(tmp_path / "run") as lock:
            written.append(lock)
    finally:
        os.umask(old)
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, path
    assert stat.S_IMODE(directory.stat().st_mode) == dir_mode
    assert not list(tmp_path.glob("a/.*.tmp"))  # no temporary left behind


# --- the shell scripts -------------------------------------------------------------------------------------

def test_env_sh_before_setup_says_how_to_set_up(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "env.sh", tmp_path / "scripts")
    fresh = subprocess.run(["bash", "-c", "source scripts/env.sh"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
    assert "run `bash scripts/setup.sh`" in fresh.stderr and str(tmp_path) in fresh.stderr, fresh.stderr
    if (REPO / ".venv" / "bin" / "ganrepro").exists():  # a set-up checkout: silent, from any directory of it
        ready = subprocess.run(["bash", "-c", "source ../scripts/env.sh && command -v ganrepro"], cwd=REPO / "src",
                               capture_output=True, text=True, timeout=30)
        assert ready.stderr == "" and ready.stdout.strip() == str(REPO / ".venv" / "bin" / "ganrepro")


SNAKEFILE = 'rule all:\n    output: "done.txt"\n    shell: "sleep $SLEEP_S; echo ok > {output}"\n'


@pytest.fixture
def script_checkout(tmp_path):
    """scripts/main.sh and env.sh of this repository in a checkout whose DAG is one sleeping job."""
    (tmp_path / "scripts").mkdir()
    for name in ("main.sh", "env.sh"):
        shutil.copy(REPO / "scripts" / name, tmp_path / "scripts")
    (tmp_path / "scripts" / "setup.sh").write_text("exit 0\n")  # the venv below is already set up
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "params").symlink_to(REPO / "params")  # a checkout: `ganrepro validate` finds its params
    return tmp_path


def _start(work: Path, cmd: list[str], sleep_s: int) -> subprocess.Popen:
    env = dict(os.environ, SLEEP_S=str(sleep_s), CORES="1")
    return subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _snakemake_locked(work: Path) -> bool:
    return any((work / ".snakemake" / "locks").glob("*"))


def _main_sh(work: Path, sleep_s: int = 0) -> subprocess.CompletedProcess:
    proc = _start(work, ["bash", "scripts/main.sh"], sleep_s)
    out, err = proc.communicate(timeout=WAIT_S)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "1"]


def test_main_sh_resumes_after_kill_9_of_the_controller(script_checkout):
    work = script_checkout
    killed = _start(work, SNAKEMAKE, 60)
    try:
        _wait(lambda: _snakemake_locked(work), "snakemake to lock the directory", killed)
    finally:
        _kill(killed)  # kill -9: Snakemake's lock stays behind
    assert _snakemake_locked(work)
    again = _main_sh(work)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "removing the Snakemake lock left by an interrupted run" in again.stdout
    assert (work / "done.txt").read_text() == "ok\n"


@pytest.mark.parametrize("first", ["main.sh", "snakemake by hand"])
def test_main_sh_refuses_a_second_live_run(script_checkout, first):
    work = script_checkout
    live = _start(work, ["bash", "scripts/main.sh"] if first == "main.sh" else SNAKEMAKE, 60)
    try:
        _wait(lambda: _snakemake_locked(work), "the first run to lock the directory", live)
        second = _main_sh(work)
        assert live.poll() is None  # the refusal did not disturb the live run
    finally:
        _kill(live)
    assert second.returncode == 1
    assert f"another run is in progress (pid {live.pid}" in second.stderr, second.stderr
    assert not (work / "done.txt").exists()
