"""One trainer per run directory: an exclusive `flock` on `<run_dir>/.lock`, held while training.

The kernel drops a `flock` when its holder exits, however it exits (kill -9, a reboot, a crashed
node), so a `.lock` file left behind by a dead trainer never blocks the next one: only a live holder
does. The file keeps "pid host time" of its last holder, quoted when a second trainer is refused.
Locks on NFS are only as reliable as the server's lock daemon; cluster filesystems (Lustre, GPFS)
support `flock` when mounted with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import GanreproError

LOCK_FILE = ".lock"


class RunLockedError(GanreproError):
    """Another live process is training in the same run directory."""


@contextlib.contextmanager
def hold_run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run directory's lock for the life of the `with` block, or raise `RunLockedError` at once."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors="replace").split()
            who = f"pid {holder[0]} on host {holder[1]}" if len(holder) >= 2 else "another process"
            raise RunLockedError(
                f"{run_dir}: another trainer is running in this run directory ({who}, lock {path}). "
                "Wait for it to finish or stop it; then re-run the same command, which resumes from the "
                "saved state. Two trainers on one run would write the same state and stats files."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race with a waiting trainer)
