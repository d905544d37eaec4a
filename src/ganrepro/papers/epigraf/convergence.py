"""Fig 6: convergence of uniform vs Beta patch-scale sampling, as log FID@N of G_ema against kimg.

The Fig 6 runs (``f6-*`` in params/experiments/epigraf.yaml: Cats 256, 5000 kimg, uniform T = 1k, 5k,
10k and Beta T = 10k) keep G_ema at ``keep_networks`` points (``runs/<scale>/epigraf/<exp>/networks/``).
Each kept network is measured as evaluation measures the tables' runs' snapshots (``snapshot_fid``:
the tables' extractor and real set) on the scale's ``snapshot_num_fake`` fakes, 2048 in the paper
("FID@2k"). The evaluation of a run that selects its best snapshot has measured exactly these (its metrics
record's ``snapshot.snapshots``): the figure reads them there, and measures only what no record holds.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ...config import list_experiments, run_config  # noqa: E402
from ...metrics.names import count_tag, parse_metric_name  # noqa: E402
from ...reports.figures import save_png  # noqa: E402
from ...stages.evaluate import SELECT_SEED, kept_networks, snapshot_fid  # noqa: E402
from ...utils_io import read_json  # noqa: E402

FIG6_PREFIX = "f6-"


def convergence_runs(paper: str, scale: str) -> list[dict]:
    return [run_config(paper, e, scale) for e in list_experiments(paper) if e.startswith(FIG6_PREFIX)]


def _label(cfg: dict) -> str:
    sched = cfg["schedule"]
    kind = "uniform" if "patch_smin" in sched else "beta"
    entry = sched.get("patch_smin") or sched["patch_beta"]
    paper_t = entry["kimg"] / cfg["train"]["time_ratio"]  # T in the paper's kimg
    return f"[{kind}] T = {paper_t / 1000:g}k"


def snapshot_curve(cfg: dict) -> list[dict]:
    """{kimg, fid, metric, network} of each kept G_ema: from the run's metrics record where its evaluation
    measured them (the same networks, fakes and protocol), else measured here."""
    kept = [str(p) for p in kept_networks(cfg)]
    record = Path(cfg["paths"]["metrics"])
    measured = (read_json(record).get("snapshot") or {}).get("snapshots", []) if record.is_file() else []
    count = count_tag(cfg["eval"]["snapshot_num_fake"])  # measured on as many fakes as asked now
    same = all((parse_metric_name(p["metric"]) or {}).get("count") == count for p in measured)
    if kept and [p["network"] for p in measured] == kept and same:
        return measured
    return [snapshot_fid(cfg, p, cfg["eval"]["snapshot_num_fake"], seed=SELECT_SEED) for p in kept]


def fig6_convergence(paper: str, scale: str, out: Path) -> Path:
    """Fig 6: log FID@N against kimg seen by D for every Fig 6 run (T in the paper's kimg in the legend,
    the x axis in the kimg this scale trained)."""
    runs = convergence_runs(paper, scale)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    metric = ""
    for cfg in runs:
        points = snapshot_curve(cfg)
        if not points:
            continue
        metric = points[0]["metric"]
        ax.plot([p["kimg"] for p in points], np.log([p["fid"] for p in points]), marker="o", label=_label(cfg))
    ax.set(xlabel="kimg seen by D", ylabel=f"log {metric or 'FID'}")
    ax.legend(fontsize=8)
    n = runs[0]["eval"]["snapshot_num_fake"] if runs else "?"
    ax.set_title(f"{paper} Fig. 6 at scale '{scale}': Cats stand-in, uniform vs beta scales, FID@{n}", fontsize=9)
    return save_png(fig, out / paper / "fig6_convergence.png")
