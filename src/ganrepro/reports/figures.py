"""Regenerate a paper's figures as PNG (seaborn): Fig 1 (G loss per objective) and training curves."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .. import paths  # noqa: E402
from ..config import list_experiments, run_config  # noqa: E402
from .figure_list import figure_builders  # noqa: E402
from ..training.stats import read_stats  # noqa: E402
from ..provenance import provenance  # noqa: E402
from ..utils_io import atomic_write, read_json  # noqa: E402



def run_curves(paper: str, scale: str, experiments: list[str]) -> pd.DataFrame:
    frames = []
    for exp in experiments:
        cfg = run_config(paper, exp, scale)
        stats = read_stats(cfg["paths"]["run_dir"])
        if not stats:
            continue
        df = pd.DataFrame(stats)
        df["experiment"] = exp
        result_path = Path(cfg["paths"]["result"])
        df["status"] = read_json(result_path)["status"] if result_path.exists() else "missing"
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def save_png(fig, path: Path) -> Path:
    """PNG with provenance (commit, versions, host) in its text metadata."""
    meta = {"Software": "ganrepro", "Description": json.dumps(provenance())}
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png", metadata=meta))
    plt.close(fig)
    return path


def training_curves(paper: str, scale: str, out: Path) -> Path:
    df = run_curves(paper, scale, list_experiments(paper))
    if df.empty:
        fig = plt.figure()
        return save_png(fig, out / paper / "training_curves.png")
    long = df.melt(id_vars=["experiment", "kimg"], value_vars=["loss_d", "loss_g"], var_name="loss")
    grid = sns.relplot(data=long, x="kimg", y="value", hue="loss", col="experiment", col_wrap=6, kind="line",
                       height=1.9, aspect=1.3, facet_kws={"sharey": False})
    grid.set_titles("{col_name}", size=8)
    grid.figure.suptitle(f"{paper}: D and G losses per run (scale '{scale}')", y=1.02)
    return save_png(grid.figure, out / paper / "training_curves.png")


def write_figures(paper: str, scale: str, out: str = paths.FIGURES, figure: str | None = None) -> list[Path]:
    sns.set_theme(style="whitegrid", context="paper")
    builders = figure_builders(paper)
    if figure is not None and figure not in builders:
        from ..errors import ConfigError

        raise ConfigError(f"unknown figure {figure!r} of {paper}; allowed: {', '.join(builders)}.")
    out_dir = Path(out)
    from ..utils_io import ensure_writable_dir

    ensure_writable_dir(out_dir / paper)  # fail before building anything
    return [build(paper, scale, out_dir) for name, build in builders.items() if figure in (None, name)]
