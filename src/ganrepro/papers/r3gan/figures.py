"""R3GAN Fig. 1: generator loss per objective on StackedMNIST, and D's gradient norm on fakes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ...config import list_experiments, run_config  # noqa: E402
from ...reports.figures import run_curves, save_png  # noqa: E402

OBJECTIVE_LABEL = {"rpgan": "RpGAN", "nsgan": "GAN"}


def _objective_label(loss: dict) -> str:
    return OBJECTIVE_LABEL[loss["objective"]] + " + R1" + (" + R2" if loss["r2"] else "")


def fig1_g_loss(paper: str, scale: str, out: Path) -> Path:
    """Fig 1: generator loss over training per objective, and D's gradient norm on fakes (log scale)."""
    exps = [e for e in list_experiments(paper) if "table1" in run_config(paper, e, scale)["tables"]]
    df = run_curves(paper, scale, exps)
    if not df.empty:
        df["objective"] = [_objective_label(run_config(paper, e, scale)["loss"]) for e in df["experiment"]]
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
    return save_png(fig, out / paper / "fig1_g_loss.png")
