"""Evidence that the implementation learns: metric against kimg and samples along the learning runs.

The learning runs (`learning: true` in params/experiments/r3gan.yaml) keep G_ema at a few points
(`runs/<scale>/r3gan/<exp>/networks/network-<step>.pt`). Each is evaluated with the same instruments
as the tables: StackedMNIST modes and reverse KL with the pipeline's digit classifier, and for the
class-conditional shapes the fraction of fakes the feature CNN reads as their conditioning class.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ...config import list_experiments, load_params, run_config  # noqa: E402
from ...reports.figures import save_png  # noqa: E402
from ...reports.samples import draw_grid, latents, to_uint8  # noqa: E402
from ...stages.evaluate import kept_networks, learning_metrics  # noqa: E402
from ...training.loop import generator_sampler, load_generator  # noqa: E402

SEEDS = range(8)


def learning_runs(paper: str, scale: str) -> list[dict]:
    cfgs = [run_config(paper, e, scale) for e in list_experiments(paper)]
    return [c for c in cfgs if "learning" in c["tables"] and c["train"]["keep_networks"]]


def milestones(cfg: dict) -> list[Path]:
    """The kept G_emas of this run's current length (a run extended by a larger kimg keeps older files)."""
    return kept_networks(cfg)


def evaluate_milestone(cfg: dict, path: Path) -> dict:
    """{kimg, metric name: value} of one kept network, with the instruments of the tables."""
    _, payload = load_generator(path)
    return {"kimg": payload["kimg"], **learning_metrics(cfg, path)}


def gate_bound(cfg: dict, metric: str) -> float | None:
    """The learning gate's bound on ``metric`` for this run (params ``learning_gates``), if any."""
    gates = load_params().experiments[cfg["paper"]].get("learning_gates") or {}
    for gate in gates.get("metrics", []):
        if gate["experiment"] == cfg["base_experiment"] and gate["metric"] == metric:
            return gate.get("min", gate.get("max"))
    return None


def learning_curves(paper: str, scale: str, out: Path) -> Path:
    runs = learning_runs(paper, scale)
    fig, axes = plt.subplots(1, max(1, len(runs)), figsize=(5.5 * max(1, len(runs)), 3.6), squeeze=False)
    for ax, cfg in zip(axes[0], runs):
        points = [evaluate_milestone(cfg, p) for p in milestones(cfg)]
        kimg = [p["kimg"] for p in points]
        if cfg["eval"]["kind"] == "modes":
            ax.plot(kimg, [p.get("modes") for p in points], marker="o", label="# modes (of 1000)")
            if (bound := gate_bound(cfg, "modes")) is not None:
                ax.axhline(bound, color="grey", ls="--", lw=0.8, label=f"gate {bound:g}")
            twin = ax.twinx()
            twin.plot(kimg, [p.get("reverse_kl") for p in points], marker="s", color="C3", label="reverse KL")
            twin.set_ylabel("reverse KL")
            twin.legend(loc="center right", fontsize=7)
        else:
            ax.plot(kimg, [p.get("class_acc") for p in points], marker="o", label="class accuracy")
            if (bound := gate_bound(cfg, "class_acc")) is not None:
                ax.axhline(bound, color="grey", ls="--", lw=0.8, label=f"gate {bound:g}")
            ax.set_ylim(0, 1)
        ax.set(title=f"{cfg['experiment']} ({cfg['dataset']['title']})", xlabel="kimg")
        ax.legend(loc="upper left", fontsize=7)
    fig.suptitle(f"{paper}: learning runs at scale '{scale}' (metrics with the pipeline's own instruments)")
    return save_png(fig, out / paper / "learning_curves.png")


@torch.no_grad()
def learning_samples(paper: str, scale: str, out: Path) -> Path:
    """One grid per learning run: a row per kept network (kimg), the same latent seeds in every row."""
    grids = []
    for cfg in learning_runs(paper, scale):
        rows, labels = [], []
        for path in milestones(cfg):
            G, payload = load_generator(path)
            z = latents(SEEDS, G.z_dim)
            c = torch.arange(len(SEEDS)) % payload["num_classes"] if payload["num_classes"] else None
            rows.append(to_uint8(generator_sampler(G, payload)(z, c)))
            labels.append(f"{payload['kimg']:.3g} kimg")
        if rows:
            image, _ = draw_grid(np.stack(rows), [f"{paper} / {cfg['experiment']}", f"scale {scale}, seeds 0-7"],
                                 labels)
            grids.append(image)
    fig, axes = plt.subplots(1, max(1, len(grids)), figsize=(6 * max(1, len(grids)), 7), squeeze=False)
    for ax, image in zip(axes[0], grids):
        ax.imshow(image)
    for ax in axes[0]:
        ax.axis("off")
    return save_png(fig, out / paper / "learning_samples.png")
