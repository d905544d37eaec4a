"""Regenerate a paper's figures as PNG (seaborn): Fig 1 (G loss per objective) and training curves."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..config import list_experiments, resolve_run  # noqa: E402
from ..training.stats import read_stats  # noqa: E402
from ..provenance import provenance  # noqa: E402
from ..utils_io import atomic_write, read_json  # noqa: E402

OBJECTIVE_LABEL = {"rpgan": "RpGAN", "nsgan": "GAN"}


def run_curves(paper: str, scale: str, experiments: list[str]) -> pd.DataFrame:
    frames = []
    for exp in experiments:
        cfg = resolve_run(paper, exp, scale)
        stats = read_stats(cfg["paths"]["run_dir"])
        if not stats:
            continue
        df = pd.DataFrame(stats)
        loss = cfg["loss"]
        df["experiment"] = exp
        df["objective"] = OBJECTIVE_LABEL[loss["objective"]] + " + R1" + (" + R2" if loss["r2"] else "")
        result_path = Path(cfg["paths"]["result"])
        df["status"] = read_json(result_path)["status"] if result_path.exists() else "missing"
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _save(fig, path: Path) -> Path:
    """PNG with provenance (commit, versions, host) in its text metadata."""
    meta = {"Software": "ganrepro", "Description": json.dumps(provenance())}
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png", metadata=meta))
    plt.close(fig)
    return path


def fig1_g_loss(paper: str, scale: str, out: Path) -> Path:
    """Fig 1: generator loss over training per objective, and D's gradient norm on fakes (log scale)."""
    exps = [e for e in list_experiments(paper) if "table1" in resolve_run(paper, e, scale)["tables"]]
    df = run_curves(paper, scale, exps)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    if not df.empty:
        sns.lineplot(data=df, x="kimg", y="loss_g", hue="objective", ax=axes[0], marker="o")
        sns.lineplot(data=df, x="kimg", y="grad_sq_fake", hue="objective", ax=axes[1], marker="o", legend=False)
        axes[1].set_yscale("log")
        for exp, group in df.groupby("experiment"):
            if group["status"].iloc[0] == "failed":
                axes[0].annotate("Fail", (group["kimg"].iloc[-1], group["loss_g"].iloc[-1]), color="red")
    axes[0].set(title="Generator loss per objective", xlabel="kimg", ylabel="G loss")
    axes[1].set(title="||grad D(fake)||^2 (divergence diagnostic)", xlabel="kimg", ylabel="squared norm")
    fig.suptitle(f"{paper} Fig. 1 reproduced at scale '{scale}' (StackedMNIST)")
    return _save(fig, out / paper / "fig1_g_loss.png")


def training_curves(paper: str, scale: str, out: Path) -> Path:
    df = run_curves(paper, scale, list_experiments(paper))
    if df.empty:
        fig = plt.figure()
        return _save(fig, out / paper / "training_curves.png")
    long = df.melt(id_vars=["experiment", "kimg"], value_vars=["loss_d", "loss_g"], var_name="loss")
    grid = sns.relplot(data=long, x="kimg", y="value", hue="loss", col="experiment", col_wrap=6, kind="line",
                       height=1.9, aspect=1.3, facet_kws={"sharey": False})
    grid.set_titles("{col_name}", size=8)
    grid.figure.suptitle(f"{paper}: D and G losses per run (scale '{scale}')", y=1.02)
    return _save(grid.figure, out / paper / "training_curves.png")


def write_figures(paper: str, scale: str, out: str = "results/figures") -> list[Path]:
    sns.set_theme(style="whitegrid", context="paper")
    out_dir = Path(out)
    return [fig1_g_loss(paper, scale, out_dir), training_curves(paper, scale, out_dir)]
