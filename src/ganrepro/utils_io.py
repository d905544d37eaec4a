"""Atomic file writes: a result file is either complete or absent, never half-written.

Files get the mode an ordinary ``open(path, "w")`` would give them (0666 less the user's umask), so
results on a shared filesystem are as readable as the user's other files; directories likewise.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import GanreproError, ResultFileError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path`` (same directory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp creates 0600 whatever the umask
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


class OutputDirError(GanreproError):
    """A directory the pipeline must write to cannot be created or written."""


def ensure_writable_dir(directory: str | os.PathLike) -> Path:
    """Create `directory` if needed and prove it writable by creating (and removing) a file in it.

    A probe rather than `os.access`: it also catches read-only mounts, a full disk's inode table,
    and root on a filesystem that refuses root. Call it before expensive work whose result goes there.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".ganrepro-write-probe-"):
            pass
    except OSError as exc:
        raise OutputDirError(
            f"{directory}: cannot write there ({exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}). "
            "Make it writable (permissions, a read-only mount, free space, or a file in the way of the "
            "directory), then re-run the same command; nothing was computed yet."
        ) from None
    return directory


def current_umask() -> int:
    """The process's umask, read without changing it where /proc allows (no race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    return atomic_write(path, lambda p: p.write_text(text))


def read_json(path: str | os.PathLike) -> Any:
    text = Path(path).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; {len(text)} bytes): "
            "the file is truncated or corrupt. Delete it and re-run the same snakemake command: the job that "
            "writes it runs again (or `snakemake --forcerun <rule>` for it)."
        ) from None
