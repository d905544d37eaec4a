"""Faults: killed controller, killed training job, corrupt outputs and data, two invocations at once.

Every test drives the real Snakefile in its own temporary directory, with timeouts on every subprocess
and every wait, and kills what it started (by process group) if something goes wrong. Training runs are
made longer than at plain `tiny` (GANREPRO_PARAMS -> a params copy with kimg=1.2, i.e. 150 steps with
a saved state every 10) so that a kill lands mid-run; the corrupt-file tests reuse a copy of the
session's tiny DAG run (`tiny_run`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from dagutil import params_with_tiny, snakemake_cmd, snakemake_env

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 600
WAIT_S = 300
KIMG = 1.2  # 150 steps at batch 8: long enough to be interrupted
EXP = "t1-rpgan-r1r2"
NETWORK = f"runs/tiny/r3gan/{EXP}/network.pt"


@pytest.fixture(scope="module")
def slow_params(tmp_path_factory):
    return params_with_tiny(tmp_path_factory.mktemp("faults") / "params", kimg=KIMG)


def _env(work: Path, params: Path) -> dict:
    return snakemake_env(work, GANREPRO_PARAMS=str(params))


def _start(work: Path, args: list[str], env: dict, name: str = "snakemake.out") -> subprocess.Popen:
    work.mkdir(parents=True, exist_ok=True)
    with open(work / name, "w") as out:
        return subprocess.Popen(snakemake_cmd(work, *args), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)


def _run(work: Path, args: list[str], env: dict, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_cmd(work, *args), capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _group(pgid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes of a process group."""
    procs = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            procs.append((int(entry.name), cmdline))
    return procs


def _training_pid(pgid: int, experiment: str) -> int | None:
    """The `ganrepro train` Python process of `experiment` in the group (not the shell that started it)."""
    for pid, cmd in _group(pgid):
        if ("ganrepro train" in cmd and re.search(rf"--experiment {re.escape(experiment)}(\s|$)", cmd)
                and not cmd.split()[0].endswith("bash")):
            return pid
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def _wait_for(cond, proc: subprocess.Popen, work: Path, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"snakemake ended (rc={proc.returncode}) before {what}:\n"
                        + (work / "snakemake.out").read_text()[-4000:])
        time.sleep(0.2)
    _kill_group(proc)
    pytest.fail(f"timed out waiting for {what}:\n" + (work / "snakemake.out").read_text()[-4000:])


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group(pgid):
            return True
        time.sleep(0.5)
    return False


def _ema(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)["G_ema"]


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("report.*", ".mpl"))
    return dst


# --- two invocations at once (its run is also the uninterrupted reference for the kill test) -----------

@pytest.fixture(scope="module")
def locked_run(slow_params, tmp_path_factory):
    """One uninterrupted run of NETWORK; while it trains, a second identical invocation is attempted."""
    work = tmp_path_factory.mktemp("locked")
    env = _env(work, slow_params)
    args = [NETWORK, "--cores", "1", "--config", "scale=tiny"]
    first = _start(work, args, env)
    try:
        _wait_for(lambda: _training_pid(first.pid, EXP), first, work, "the training job to start")
        second = _run(work, args, env, timeout=180)
        still_training = _training_pid(first.pid, EXP) is not None
        first.wait(timeout=RUN_TIMEOUT_S)
    finally:
        _kill_group(first)
    return {"work": work, "first_rc": first.returncode, "second": second, "still_training": still_training,
            "first_out": (work / "snakemake.out").read_text()}


def test_second_invocation_is_refused_by_the_directory_lock(locked_run):
    second = locked_run["second"]
    out = second.stdout + second.stderr
    assert second.returncode != 0
    assert "Directory cannot be locked" in out and "--unlock" in out, out[-3000:]
    assert locked_run["still_training"]  # the refusal did not disturb the running job ...
    assert locked_run["first_rc"] == 0, locked_run["first_out"][-4000:]  # ... which completed
    work = locked_run["work"]
    result = json.loads((work / f"runs/tiny/r3gan/{EXP}/result.json").read_text())
    assert result["status"] == "ok" and result["step"] == result["total_steps"] == round(KIMG * 1000 / 8)
    assert "resumed" not in (work / f"logs/tiny/train/r3gan/{EXP}.log").read_text()


# --- a training job killed mid-run -----------------------------------------------------------------------

def test_killed_training_job_resumes_to_the_uninterrupted_network(slow_params, locked_run, tmp_path):
    work = tmp_path / "w"
    env = _env(work, slow_params)
    args = [NETWORK, "--cores", "1", "--config", "scale=tiny"]
    run_dir = work / f"runs/tiny/r3gan/{EXP}"
    proc = _start(work, args, env)
    try:
        def mid_run():
            stats = run_dir / "stats.jsonl"
            if (run_dir / "state.pt").exists() and stats.exists() and len(stats.read_text().splitlines()) >= 3:
                return _training_pid(proc.pid, EXP)
            return None

        pid = _wait_for(mid_run, proc, work, "the training job to save a state")
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=120)
    finally:
        _kill_group(proc)
    out = (work / "snakemake.out").read_text()
    assert proc.returncode != 0 and "Error in rule train" in out, out[-3000:]
    assert not (work / NETWORK).exists()
    saved = torch.load(run_dir / "state.pt", map_location="cpu", weights_only=False)["step"]
    total = round(KIMG * 1000 / 8)
    assert 0 < saved < total

    rerun = _run(work, args, env)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    log = (work / f"logs/tiny/train/r3gan/{EXP}.log").read_text()
    match = re.search(r"resumed from \S+state\.pt at step (\d+)", log)
    assert match and int(match.group(1)) == saved, log
    # Bit-identical to the uninterrupted run (same seeds, CPU): data order and noise are functions of the step.
    ref, got = _ema(locked_run["work"] / NETWORK), _ema(work / NETWORK)
    assert ref.keys() == got.keys()
    for key in ref:
        assert torch.equal(ref[key], got[key]), key
    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert [s["step"] for s in stats] == list(range(5, total + 1, 5))  # no duplicated or missing ticks


# --- the controller killed mid-run -------------------------------------------------------------------

def test_killed_controller_then_rerun_incomplete_does_not_redo_finished_runs(slow_params, tmp_path):
    work = tmp_path / "w"
    env = _env(work, slow_params)
    exps = ["t1-rpgan-r1", "t1-rpgan-r1r2"]
    targets = [f"runs/tiny/r3gan/{e}/network.pt" for e in exps]
    args = [*targets, "--cores", "1", "--config", "scale=tiny"]
    proc = _start(work, args, env)
    try:
        # --cores 1: one training after the other (in an order Snakemake picks). Kill the controller when
        # one run is finished and the other one is training.
        def one_done_other_training():
            for done, running in ((0, 1), (1, 0)):
                if (work / targets[done]).exists() and _training_pid(proc.pid, exps[running]):
                    return exps[done], exps[running]
            return None

        first_exp, second_exp = _wait_for(one_done_other_training, proc, work,
                                          "one run to finish and the other to train")
        os.kill(proc.pid, signal.SIGKILL)  # the controller only: its job goes on, orphaned
        proc.wait(timeout=30)
        # The orphaned training finishes on its own (as under nohup/tmux); bounded wait, then kill it.
        finished_alone = _wait_group_gone(proc.pid, 240)
    finally:
        _kill_group(proc)
    assert finished_alone
    targets = [f"runs/tiny/r3gan/{e}/network.pt" for e in (first_exp, second_exp)]
    first_network = work / targets[0]
    before = {p: p.stat().st_mtime_ns for p in
              [first_network, work / f"runs/tiny/r3gan/{first_exp}/result.json",
               work / f"benchmarks/tiny/train/r3gan/{first_exp}.tsv", work / "data/tiny/stackedmnist/manifest.json"]}

    # 1. The second run's output exists (the orphan wrote it), but Snakemake marked it incomplete when the
    #    job started and never saw it finish: the same command is refused, naming the file and the fix.
    again = _run(work, args, env, timeout=180)
    out = again.stdout + again.stderr
    assert again.returncode != 0 and "Incomplete files:" in out and targets[1] in out, out[-3000:]
    assert targets[0] not in out.split("Incomplete files:")[1] and "--rerun-incomplete" in out
    # 2. The dead controller's directory lock is still there: refused, with the fix.
    again = _run(work, [*args, "--rerun-incomplete"], env, timeout=180)
    out = again.stdout + again.stderr
    assert again.returncode != 0 and "Directory cannot be locked" in out and "--unlock" in out, out[-3000:]
    assert _run(work, ["--unlock", "--config", "scale=tiny"], env, timeout=180).returncode == 0
    # 3. --rerun-incomplete re-runs only that job (resuming from its final state); the first is kept.
    done = _run(work, [*args, "--rerun-incomplete"], env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    for path, mtime in before.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was redone"
    jobs = re.findall(r"^(?:local)?rule (\w+):", out, flags=re.M)
    assert jobs == ["train"], out[-3000:]
    log = (work / f"logs/tiny/train/r3gan/{second_exp}.log").read_text()
    assert re.search(rf"resumed from \S+state\.pt at step {round(KIMG * 1000 / 8)}\b", log), log
    # 4. Everything is complete now.
    dry = _run(work, [*args, "-n"], env, timeout=180)
    assert "Nothing to be done" in dry.stdout + dry.stderr


# --- corrupt outputs and corrupt data --------------------------------------------------------------------

def test_truncated_metrics_json_is_reported_then_rebuilt(tiny_run, tmp_path):
    work = _copy_run(tiny_run, tmp_path / "w")
    env = snakemake_env(work)
    table = "results/tables/r3gan/table3.csv"
    args = [table, "--cores", "1", "--config", "scale=tiny"]
    original = pd.read_csv(work / table, keep_default_na=False)
    metrics = work / "results/metrics/tiny/r3gan/t3-e-stackedmnist.json"
    text = metrics.read_text()
    metrics.write_text(text[: len(text) // 2])  # as after a crash of a non-atomic writer / a full disk

    failed = _run(work, args, env)
    assert failed.returncode != 0
    log = (work / "logs/tables/r3gan.log").read_text()  # one job writes all of the paper's tables
    assert "t3-e-stackedmnist.json: not valid JSON" in log and "truncated or corrupt" in log, log
    assert "Delete it and re-run" in log and "Traceback" not in log

    metrics.unlink()  # the fix the message gives
    rebuilt = _run(work, args, env)
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
    values = lambda record: {k: v["value"] for k, v in record["metrics"].items()}  # noqa: E731
    assert values(json.loads(metrics.read_text())) == values(json.loads(text))  # same seeds, same numbers
    pd.testing.assert_frame_equal(pd.read_csv(work / table, keep_default_na=False), original)


def test_corrupt_dataset_is_reported_with_the_fix_then_rebuilt(tiny_run, tmp_path):
    work = _copy_run(tiny_run, tmp_path / "w")
    env = snakemake_env(work)
    network = "runs/tiny/r3gan/t1-rpgan-r1r2/network.pt"
    images = work / "data/tiny/stackedmnist/images.npy"
    blob = bytearray(images.read_bytes())
    for i in range(len(blob) // 2, len(blob) // 2 + 64):
        blob[i] ^= 0xFF  # same size and header, different pixels: only the checksum can tell
    images.write_bytes(bytes(blob))

    failed = _run(work, [network, "--cores", "1", "--config", "scale=tiny", "--forcerun", "train"], env)
    assert failed.returncode != 0
    log = (work / "logs/tiny/train/r3gan/t1-rpgan-r1r2.log").read_text()
    assert "images.npy" in log and "sha256 mismatch" in log, log
    assert "ganrepro prepare-data --dataset stackedmnist --scale tiny" in log and "Traceback" not in log

    fixed = _run(work, [network, "--cores", "1", "--config", "scale=tiny", "--forcerun", "prepare_data"], env)
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]
    manifest = json.loads((work / "data/tiny/stackedmnist/manifest.json").read_text())
    assert hashlib.sha256(images.read_bytes()).hexdigest() == manifest["arrays"]["images"]["sha256"]
    assert (work / network).exists()
