"""Figures 2-4 of the multi-stage INR paper and its losses (incl. L_patch) over training.

Every builder is ``fn(paper, scale, out_dir) -> Path`` (``ganrepro.papers.register_paper``) and reads
the trained runs of the scale: each run's ``network.pt`` (G_ema) and ``stats.jsonl``. The same latents
(seed ``LATENT_SEED``) are used in every panel so columns can be compared.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ...config import run_config  # noqa: E402
from ...models.cips.coords import extrapolation_grid  # noqa: E402
from ...reports.figures import run_curves, save_png  # noqa: E402
from ...training.loop import load_generator  # noqa: E402

DATASETS = ("ffhq", "church", "afhq")
METHODS = (("image", "Image-based"), ("patch", "Patch-based"), ("multistage", "Ours (multi-stage)"))
STAGES = ("multistage-{ds}-s1", "multistage-{ds}-s2", "multistage-{ds}")
LATENT_SEED = 123
NUM_SAMPLES = 4
LOSSES = ("loss_d", "loss_g_adv", "loss_patch", "loss_d_r1")


def _generator(paper: str, exp: str, scale: str):
    G, _ = load_generator(run_config(paper, exp, scale)["paths"]["network"])
    return G


def _latents(G) -> torch.Tensor:
    return torch.randn(NUM_SAMPLES, G.z_dim, generator=torch.Generator().manual_seed(LATENT_SEED))


def _row(images: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] in [-1, 1] -> one [H, B*W, C] strip in [0, 1]."""
    x = ((images.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1)
    return torch.cat(list(x), dim=1)


@torch.no_grad()
def _draw(G, coords: torch.Tensor | None = None) -> torch.Tensor:
    z = _latents(G)
    if coords is not None:
        coords = coords[None].expand(len(z), *coords.shape)
    return _row(G(z, coords=coords, noise_mode="none"))


def _grid_figure(rows: list[tuple[str, list[tuple[str, torch.Tensor]]]], title: str):
    ncols = max(len(cells) for _, cells in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.6 * ncols, 1.0 * len(rows) + 0.6), squeeze=False)
    for r, (label, cells) in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(cells):
                name, img = cells[c]
                ax.imshow(img.numpy(), interpolation="nearest")
                ax.set_title(f"{label}: {name}" if c == 0 else name, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig


def fig2_samples(paper: str, scale: str, out: Path) -> Path:
    """Fig 2: samples of the image-based, patch-based and multi-stage (G_3) generators per dataset."""
    rows = [(ds, [(label, _draw(_generator(paper, f"{m}-{ds}", scale))) for m, label in METHODS]) for ds in DATASETS]
    return save_png(_grid_figure(rows, f"Fig 2: samples per method ({scale}; same latents per row)"),
                    Path(out) / paper / "fig2_samples.png")


def fig3_stages(paper: str, scale: str, out: Path) -> Path:
    """Fig 3: the same latents rendered on the dense grid by G_1, G_2 and G_3 of the multi-stage run."""
    rows = [(ds, [(f"stage {i + 1}", _draw(_generator(paper, name.format(ds=ds), scale)))
                  for i, name in enumerate(STAGES)]) for ds in DATASETS]
    return save_png(_grid_figure(rows, f"Fig 3: the same latents after stage 1, 2, 3 ({scale})"),
                    Path(out) / paper / "fig3_stages.png")


def fig4_extrapolation(paper: str, scale: str, out: Path) -> Path:
    """Fig 4: G_3 on the training frame and on coordinates H/4 beyond it on every side."""
    rows = []
    for ds in DATASETS:
        G = _generator(paper, f"multistage-{ds}", scale)
        H = G.img_resolution
        rows.append((ds, [("frame", _draw(G)),
                          (f"+{H // 4} px beyond", _draw(G, extrapolation_grid(H, H, H // 4)))]))
    return save_png(_grid_figure(rows, f"Fig 4: extrapolation beyond the training frame ({scale})"),
                    Path(out) / paper / "fig4_extrapolation.png")


def fig_losses(paper: str, scale: str, out: Path) -> Path:
    """Losses over training (D, G adversarial, L_patch, R1) of every multi-stage stage and baseline."""
    exps = [f"{m}-{ds}" for ds in DATASETS for m in ("image", "patch")]
    exps += [name.format(ds=ds) for ds in DATASETS for name in STAGES]
    df = run_curves(paper, scale, exps)
    fig, axes = plt.subplots(1, len(LOSSES), figsize=(4 * len(LOSSES), 3.2))
    for ax, key in zip(axes, LOSSES):
        for exp, part in (df.groupby("experiment") if key in df else []):
            if part[key].notna().any():
                ax.plot(part["kimg"], part[key], label=exp, lw=1)
        ax.set_title(key + (" (stages 2, 3: L_patch vs the frozen previous stage)" if key == "loss_patch" else ""),
                     fontsize=8)
        ax.set_xlabel("kimg")
    axes[0].legend(fontsize=5, ncol=2)
    fig.suptitle(f"Losses over training ({scale})", fontsize=9)
    return save_png(fig, Path(out) / paper / "fig_losses.png")

