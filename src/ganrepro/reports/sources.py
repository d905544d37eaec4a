"""Where a reproduced number comes from: metric records, parameter counts, resolved settings."""

from __future__ import annotations

import math
from pathlib import Path

from .. import paths
from ..utils_io import read_json

# Measured table metrics. Each key is the prefix of its protocol-encoded metric name in
# results/metrics/*.json (fid -> fid2k_full-shapes_cnn, reverse_kl -> reverse_kl26k-digits_cnn).
MEASURED_METRICS = ("fid", "kid", "precision", "recall", "modes", "reverse_kl", "class_acc")


def metrics_record(scale: str, paper: str, experiment: str) -> dict | None:
    path = Path(paths.metrics(scale, paper, experiment))
    return read_json(path) if path.is_file() else None


def official_record(scale: str, paper: str, experiment: str) -> dict | None:
    """The record of the released checkpoint evaluated with the experiment's protocol (``ganrepro evaluate
    --network``, tag ``official``), or None when none was supplied and evaluated."""
    path = Path(paths.tagged_metrics(scale, paper, experiment, "official"))
    return read_json(path) if path.is_file() else None


def record_config(record: dict | None) -> dict | None:
    """The config that produced a metrics record (stamped by the evaluate stage), or None."""
    return ((record or {}).get("provenance") or {}).get("config") or None


def find_metric(record: dict, key: str) -> tuple[str, dict] | None:
    """``(name, entry)`` of the first metric in ``record`` whose name starts with ``key``; None when
    ``key`` is not a measured metric (``MEASURED_METRICS``) or the record has no such entry."""
    if key not in MEASURED_METRICS:
        return None
    for name, entry in record.get("metrics", {}).items():
        if name.startswith(key):
            return name, entry
    return None


def cost_record(scale: str, paper: str) -> dict | None:
    """The paper's cost benchmark at this scale (``ganrepro cost-bench``), or None before it ran."""
    path = Path(paths.cost_bench(scale, paper))
    return read_json(path) if path.is_file() else None


def param_counts(paper: str) -> dict:
    path = Path(paths.param_counts(paper))
    return read_json(path)["counts"] if path.is_file() else {}


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

