"""Session fixture that runs the SLURM tests against a real single-node cluster.

The cluster is built by ``scripts/slurm/cluster.sh`` (see docs/SLURM.md):
slurmctld + slurmd + slurmdbd/MariaDB + munged, partition ``debug``, one fake
GPU. It needs root and apt-get; otherwise the tests are skipped with a reason.

Environment switches:

``GANREPRO_SKIP_SLURM=1``
    skip every SLURM test.
``GANREPRO_REQUIRE_SLURM=1``
    turn the skip conditions into failures (for CI jobs that must run them).
``GANREPRO_SLURM_KEEP=1``
    leave the cluster up after the session (handy while iterating).
``GANREPRO_SLURM_DIR``
    state directory passed through to the script (default /tmp/ganrepro-slurm).

A cluster that was already up when the session started is reused and left up;
one brought up by the fixture is torn down (state purged) at session end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO_ROOT / "scripts" / "slurm" / "cluster.sh"

# Exit code cluster.sh uses when the packages cannot be installed.
EXIT_CANNOT_INSTALL = 3

UP_TIMEOUT_S = 900  # a cold apt-get install on a slow mirror
DOWN_TIMEOUT_S = 180
CMD_TIMEOUT_S = 30

# sacct states after which a job will not change any more.
TERMINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "TIMEOUT",
    }
)


def _run(args: list[str], *, timeout: float = CMD_TIMEOUT_S, env: dict | None = None):
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class SlurmCluster:
    """A running test cluster plus small, timeout-bounded helpers."""

    state_dir: Path
    partition: str
    cluster_name: str
    node: str
    slurm_conf: Path
    cpus: int
    gpus: int = 1
    info: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.slurm_conf)
        return env

    def run(self, *args: str, timeout: float = CMD_TIMEOUT_S, check: bool = True):
        """Run a SLURM client command (sbatch, sacct, ...) against this cluster."""
        proc = _run(list(args), timeout=timeout, env=self.env())
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def sbatch(self, *args: str) -> str:
        """Submit with ``sbatch --parsable`` in the default partition; return the job id."""
        proc = self.run("sbatch", "--parsable", f"--partition={self.partition}", *args)
        return proc.stdout.strip().split(";")[0]

    def sacct_field(self, job_id: str, fmt: str) -> str:
        """One sacct field of the job allocation ('' while the DB has no record yet)."""
        proc = self.run(
            "sacct", "-n", "-X", "-P", "-j", job_id, "-o", fmt, check=False
        )
        if proc.returncode != 0:
            return ""
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        return lines[0].strip() if lines else ""

    def sacct_state(self, job_id: str) -> str:
        # "CANCELLED by 0" -> "CANCELLED"
        state = self.sacct_field(job_id, "State")
        return state.split()[0] if state else ""

    def wait_state(
        self,
        job_id: str,
        states: set[str] | frozenset[str] = TERMINAL_STATES,
        timeout: float = 60,
        poll: float = 0.5,
    ) -> str:
        """Poll sacct until the job reaches one of ``states``; fail after ``timeout``.

        For a job that ran, also wait until its accounting row is complete:
        right after a short job ends, sacct can already say COMPLETED while
        fields from the job-start record (Partition, AllocTRES) are still
        empty for a fraction of a second.
        """
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            row = self.sacct_field(job_id, "State,Partition,AllocTRES")
            parts = row.split("|") if row else ["", "", ""]
            state = parts[0].split()[0] if parts[0] else ""
            complete = all(parts[1:]) or state in ("PENDING", "CANCELLED")
            if state in states and complete:
                return state
            if state in TERMINAL_STATES and state not in states:
                break  # finished, but not in the state we wanted
            time.sleep(poll)
        detail = self.run("scontrol", "show", "job", job_id, check=False).stdout
        raise AssertionError(
            f"job {job_id}: waited for {sorted(states)}, last sacct state {state!r}\n{detail}"
        )


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("GANREPRO_REQUIRE_SLURM") == "1":
        pytest.fail(f"GANREPRO_REQUIRE_SLURM=1 but: {reason}", pytrace=False)
    pytest.skip(reason)


def _script(command: str, timeout: float) -> subprocess.CompletedProcess:
    return _run(["bash", str(CLUSTER_SCRIPT), command], timeout=timeout)


def _read_env_file(path: Path) -> dict[str, str]:
    info = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            info[key.strip()] = value.strip()
    return info


@pytest.fixture(scope="session")
def slurm_cluster():
    if os.environ.get("GANREPRO_SKIP_SLURM") == "1":
        pytest.skip("GANREPRO_SKIP_SLURM=1")
    if not sys.platform.startswith("linux"):
        _skip_or_fail("the SLURM test cluster needs Linux")
    if os.geteuid() != 0:
        _skip_or_fail("the SLURM test cluster needs root (it installs packages and starts daemons)")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        _skip_or_fail("sbatch is not installed and apt-get is not available to install it")

    was_up = _script("status", CMD_TIMEOUT_S).returncode == 0
    try:
        up = _script("up", UP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _script("down", DOWN_TIMEOUT_S)
        pytest.fail(f"cluster.sh up did not finish within {UP_TIMEOUT_S} s", pytrace=False)
    if up.returncode == EXIT_CANNOT_INSTALL:
        _skip_or_fail(f"SLURM packages cannot be installed: {up.stderr.strip()[-500:]}")
    if up.returncode != 0:
        # Leave nothing half-started behind, then report the script's output.
        _script("down", DOWN_TIMEOUT_S)
        pytest.fail(
            f"cluster.sh up failed (rc={up.returncode}):\n{up.stdout}\n{up.stderr}",
            pytrace=False,
        )

    state_dir = Path(os.environ.get("GANREPRO_SLURM_DIR", "/tmp/ganrepro-slurm"))
    info = _read_env_file(state_dir / "cluster.env")
    cluster = SlurmCluster(
        state_dir=state_dir,
        partition=info["PARTITION"],
        cluster_name=info["CLUSTER"],
        node=info["NODE"],
        slurm_conf=Path(info["SLURM_CONF"]),
        cpus=int(info["CPUS"]),
        info=info,
    )
    with pytest.MonkeyPatch.context() as mp:
        # Client tools also find the config through /etc/slurm/slurm.conf, but
        # set it explicitly for anything started from this process (submitit).
        mp.setenv("SLURM_CONF", str(cluster.slurm_conf))
        yield cluster

    if was_up or os.environ.get("GANREPRO_SLURM_KEEP") == "1":
        return
    down = _script("down", DOWN_TIMEOUT_S)
    if down.returncode != 0:
        pytest.fail(f"cluster.sh down failed:\n{down.stdout}\n{down.stderr}", pytrace=False)
