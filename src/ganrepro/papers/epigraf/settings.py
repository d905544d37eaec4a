"""EpiGRAF Table 4 cells (``source: settings``): statistics fitted from the prepared archive's poses."""

from __future__ import annotations

from ...config import run_config
from .dataset_stats import table4_row


def used_settings(paper: str, experiment: str, scale: str) -> dict:
    """Table 4 row of the dataset ``experiment`` trains on: count, fitted yaw / pitch law, resolution."""
    cfg = run_config(paper, experiment, scale)
    row = table4_row(cfg["dataset"]["path"])
    return {"num_images": row["count"], "yaw": row["yaw_distribution"], "pitch": row["pitch_distribution"],
            "resolution": f"{row['resolution']}x{row['resolution']}"}
