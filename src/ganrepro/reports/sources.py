"""Where a reproduced number comes from: metric records, parameter counts, resolved settings."""

from __future__ import annotations

import math
from pathlib import Path

from ..config import resolve_run
from ..utils_io import read_json

# Measured table metrics. Each key is the prefix of its protocol-encoded metric name in
# results/metrics/*.json (fid -> fid2k_full-shapes_cnn, reverse_kl -> reverse_kl26k-digits_cnn).
MEASURED_METRICS = ("fid", "kid", "precision", "recall", "modes", "reverse_kl")


def metrics_record(scale: str, paper: str, experiment: str) -> dict | None:
    path = Path(f"results/metrics/{scale}/{paper}/{experiment}.json")
    return read_json(path) if path.is_file() else None


def find_metric(record: dict, key: str) -> tuple[str, dict] | None:
    """``(name, entry)`` of the first metric in ``record`` whose name starts with ``key``; None when
    ``key`` is not a measured metric (``MEASURED_METRICS``) or the record has no such entry."""
    if key not in MEASURED_METRICS:
        return None
    for name, entry in record.get("metrics", {}).items():
        if name.startswith(key):
            return name, entry
    return None


def param_counts(paper: str) -> dict:
    path = Path(f"results/metrics/params/{paper}.json")
    return read_json(path)["counts"] if path.is_file() else {}


def _stages_high_to_low(values: list) -> str:
    return "-".join(str(v) for v in reversed(values))


def used_settings(paper: str, experiment: str, scale: str) -> dict:
    """Table 9's hyperparameters as actually used at this scale (Mimg units, as the paper prints them)."""
    cfg = resolve_run(paper, experiment, scale)
    s, m, t = cfg["schedule"], cfg["model"], cfg["train"]
    widths = m.get("widths", [])
    expanded = [int(w * m.get("expansion", 1)) for w in widths]
    groups = [e // m["group_size"] if m.get("group_size") else 1 for e in expanded]
    return {
        "resolution": cfg["dataset"]["resolution"],
        "conditional": cfg["dataset"]["num_classes"] > 0,
        "gpus": cfg["resources"]["gpus"] if t["device"] == "cuda" else 0,
        "duration_mimg": t["kimg"] / 1000,
        "burnin_mimg": s["burnin_kimg"] / 1000,
        "batch": t["batch"],
        "lr_start": s["lr"][0], "lr_end": s["lr"][1],
        "gamma_start": s["gamma"][0], "gamma_end": s["gamma"][1],
        "beta2_start": s["beta2"][0], "beta2_end": s["beta2"][1],
        "ema_halflife_start_mimg": s["ema_halflife_kimg"][0] / 1000,
        "ema_halflife_end_mimg": s["ema_halflife_kimg"][1] / 1000,
        "channels": _stages_high_to_low(widths),
        "blocks": _stages_high_to_low([m.get("blocks_per_stage", 2)] * len(widths)),
        "groups": _stages_high_to_low(groups),
        "xflips": cfg["xflip"],
        "aug_p_end": s["aug_p"][1] if cfg["augment"] != "none" else None,
    }


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

