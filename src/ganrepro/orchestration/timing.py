"""`ganrepro dag-timing`: where a finished DAG run spent its time, per rule, from its job logs.

Every rule writes its job's log (``logs/...``) by a shell redirect: the file is created when the job
starts and last written when it ends, so its birth and modification times bracket the job. Printed per
kind of job (the log directory under ``logs/`` or ``logs/<scale>/``): count, job-seconds, mean and max;
and the run's wall time (first start to last end) beside the job-seconds over the cores used.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from ..scales import SCALES


def _birth(path: Path) -> float | None:
    try:
        st = os.stat(path)
        return getattr(st, "st_birthtime", None) or _statx_birth(path)
    except OSError:
        return None


def _statx_birth(path: Path) -> float | None:
    """Birth time via `stat -c %W` (Linux statx); None where the filesystem does not keep it."""
    import subprocess

    out = subprocess.run(["stat", "-c", "%W", str(path)], capture_output=True, text=True)
    value = out.stdout.strip()
    return float(value) if out.returncode == 0 and value not in ("", "0", "-") else None


def job_times(logs: Path, scale: str | None = None, paper: str | None = None) -> dict[str, list[tuple[float, float]]]:
    """{kind: [(start, end), ...]} of every job log under ``logs`` (``logs/<scale>/<kind>/...`` or
    ``logs/<kind>/...``); with ``paper``, only the jobs whose log path names it (per-paper jobs)."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for path in sorted(Path(logs).rglob("*.log")):
        parts = path.relative_to(logs).parts
        if scale and parts[0] != scale and parts[0] in SCALES:
            continue
        if paper and paper not in parts[:-1] and not path.stem.startswith(paper):
            continue
        if parts[0] in SCALES:
            parts = parts[1:]
        kind = parts[0] if len(parts) > 1 else path.stem  # logs/<kind>/... or logs/<kind>.log
        start = _birth(path)
        if start is not None:
            out[kind].append((start, path.stat().st_mtime))
    return dict(out)


def report(logs: Path, cores: int = 2, scale: str | None = None, paper: str | None = None) -> str:
    times = job_times(logs, scale, paper)
    if not times:
        return f"no job logs with birth times under {logs}"
    lines = [f"{'kind':<24}{'jobs':>6}{'job-s':>9}{'mean s':>8}{'max s':>7}"]
    total = 0.0
    for kind, spans in sorted(times.items(), key=lambda kv: -sum(e - s for s, e in kv[1])):
        durations = [e - s for s, e in spans]
        total += sum(durations)
        lines.append(f"{kind:<24}{len(spans):>6}{sum(durations):>9.0f}{sum(durations) / len(spans):>8.1f}"
                     f"{max(durations):>7.0f}")
    starts = [s for spans in times.values() for s, _ in spans]
    ends = [e for spans in times.values() for _, e in spans]
    jobs = sum(len(v) for v in times.values())
    lines.append(f"{jobs} jobs, {total:.0f} job-seconds ({total / cores / 60:.1f} min over {cores} cores); "
                 f"wall {(max(ends) - min(starts)) / 60:.1f} min from the first job's start to the last job's end")
    return "\n".join(lines)
