"""EpiGRAF's figures: Fig 3 (patch-scale densities), Fig 5 (marching-cubes geometry of samples), the
patch schedules and D losses per Table 1 run, Fig 7 (hypernetwork modulations of a trained D) and a
multi-view sample grid per 3D dataset (Fig 6, convergence: ``convergence.py``).

Each builder is ``fn(paper, scale, out_dir) -> Path``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ...config import list_experiments, run_config  # noqa: E402
from ...reports.figures import run_curves, save_png  # noqa: E402
from ...training.schedules import values_at  # noqa: E402
from .consistency import view_cameras  # noqa: E402
from .geometry import THRESH_PERCENTILE, density_volume, draw_mesh, mesh_from_density  # noqa: E402
from .patches import beta_at, sample_scales, scale_pdf, smin_at  # noqa: E402

FIG3_MIN_SCALE = 0.125          # r / R = 64 / 512, as the paper's figure
FIG3_T_FRACTIONS = (0.0, 0.1, 0.5, 1.0)


def fig3_scale_pdfs(paper: str, scale: str, out: Path) -> Path:
    """Fig 3: densities of the patch scale, uniform (s_min annealed) vs Beta (beta annealed), at t / T
    in FIG3_T_FRACTIONS; analytic curves over histograms of 20k draws of the project's own sampler."""
    torch.manual_seed(0)
    s = np.linspace(FIG3_MIN_SCALE, 1.0, 400)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, kind in zip(axes, ("uniform", "beta")):
        for frac in FIG3_T_FRACTIONS:
            value = (smin_at(frac, 1.0, FIG3_MIN_SCALE) if kind == "uniform" else beta_at(frac, 1.0))
            if kind == "uniform" and value >= 1.0:
                ax.axvline(1.0, label=f"t/T={frac:g}: point mass at 1", color="k", ls=":")
                continue
            draws = sample_scales(20000, kind, value, FIG3_MIN_SCALE).numpy()
            ax.hist(draws, bins=40, range=(FIG3_MIN_SCALE, 1.0), density=True, alpha=0.25)
            ax.plot(s, scale_pdf(s, kind, value, FIG3_MIN_SCALE), label=f"t/T={frac:g}")
        ax.set(title=f"{kind} scale sampling", xlabel="patch scale s", ylim=(0, 6))
        ax.legend(fontsize=8)
    axes[0].set_ylabel("density")
    fig.suptitle(f"{paper} Fig. 3: patch-scale distributions (analytic lines, sampler histograms), r/R = 1/8")
    return save_png(fig, out / paper / "fig3_scale_pdfs.png")


def patch_schedule_curves(paper: str, scale: str, out: Path) -> Path:
    """Per Table 1 run, the Beta parameter and mean patch scale it trained with, and its D loss over kimg
    (not a paper figure: what the patch schedule did in each run)."""
    exps = [e for e in list_experiments(paper) if "table1" in run_config(paper, e, scale)["tables"]]
    df = run_curves(paper, scale, exps)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for exp in exps:
        cfg = run_config(paper, exp, scale)
        kimg = np.linspace(0, cfg["train"]["kimg"], 50)
        beta = np.array([values_at(cfg["schedule"], k)["patch_beta"] for k in kimg])
        min_scale = cfg["model"]["patch_resolution"] / cfg["dataset"]["resolution"]
        mean_s = min_scale + (1 - min_scale) / (1 + beta)  # E[s] for X ~ Beta(1, beta): 1 / (1 + beta)
        axes[0].plot(kimg, beta, label=exp)
        axes[1].plot(kimg, mean_s, label=exp)
        if not df.empty and "loss_d" in df:
            g = df[df["experiment"] == exp]
            axes[2].plot(g["kimg"], g["loss_d"], marker="o", label=exp)
    axes[0].set(title="beta(t) of the patch-scale Beta", xlabel="kimg")
    axes[1].set(title="mean patch scale E[s]", xlabel="kimg")
    axes[2].set(title="D loss", xlabel="kimg")
    axes[2].legend(fontsize=7)
    fig.suptitle(f"{paper} at scale '{scale}': patch schedule and D loss per Table 1 run")
    return save_png(fig, out / paper / "patch_schedule_curves.png")


def _load_nets(path: Path):
    from ...models import build_networks

    payload = torch.load(path, map_location="cpu", weights_only=False)
    G, D = build_networks(payload["arch"], resolution=payload["resolution"], img_channels=payload["img_channels"],
                          num_classes=payload["num_classes"])
    G.load_state_dict(payload["G_ema"])
    D.load_state_dict(payload["D"])
    return G.eval(), D.eval(), payload


def fig7_modulations(paper: str, scale: str, out: Path, experiment: str = "t1-epigraf-ffhq512") -> Path:
    """Fig 7: sigma = 1 + tanh(W_l p + b_l) of up to four modulated D blocks (filters x patch scale,
    dx = dy = 0) of a trained run; the fraction of filters whose sigma varies by > 0.1 over s in the title."""
    cfg = run_config(paper, experiment, scale)
    _, D, _ = _load_nets(Path(cfg["paths"]["network"]))
    min_scale = cfg["model"]["patch_resolution"] / cfg["dataset"]["resolution"]
    scales = torch.linspace(min_scale, 1.0, 32)
    patch = torch.stack([scales, torch.zeros_like(scales), torch.zeros_like(scales)], dim=1)
    blocks = [b for b in D.modules() if getattr(b, "affine", None) is not None and hasattr(b, "modulation")][:4]
    fig, axes = plt.subplots(1, max(1, len(blocks)), figsize=(3.6 * max(1, len(blocks)), 3.4), squeeze=False)
    with torch.no_grad():
        p = D.patch_code(patch)
        for i, (ax, block) in enumerate(zip(axes[0], blocks)):
            sigma = block.modulation(p).numpy().T  # [filters, scales]
            varies = float(np.mean(sigma.max(1) - sigma.min(1) > 0.1))
            im = ax.imshow(sigma, aspect="auto", cmap="viridis", vmin=0, vmax=2,
                           extent=(min_scale, 1.0, sigma.shape[0], 0))
            ax.set(title=f"block {i}: {varies:.0%} filters vary", xlabel="patch scale s", ylabel="filter")
        if blocks:
            fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    fig.suptitle(f"{paper} Fig. 7: D hypernetwork modulations ({experiment}, scale '{scale}')")
    return save_png(fig, out / paper / "fig7_modulations.png")


def multiview_grid(paper: str, scale: str, out: Path, views: int = 7, samples: int = 4) -> Path:
    """Per Table 1 run (one per dataset): ``samples`` latents (rows) x ``views`` yaws (columns), rendered
    by G_ema at pitch pi/2, yaw over [-0.5, 0.5] rad (frontal) or [-pi, pi) (360-degree datasets): the
    cameras of the view-consistency metric (``consistency.view_cameras``)."""
    exps = [e for e in list_experiments(paper) if e.startswith("t1-")]
    fig, axes = plt.subplots(len(exps), 1, figsize=(views * 0.9, len(exps) * samples * 0.9 + 0.6), squeeze=False)
    for ax, exp in zip(axes[:, 0], exps):
        cfg = run_config(paper, exp, scale)
        G, _, _ = _load_nets(Path(cfg["paths"]["network"]))
        z = torch.randn(samples, G.z_dim, generator=torch.Generator().manual_seed(0)).repeat_interleave(views, 0)
        cams = view_cameras(cfg["model"]["camera"], views).repeat(samples, 1)
        with torch.no_grad():
            img = G.render_full(z, None, cams).clamp(-1, 1).add(1).mul(127.5).byte()
        r = img.shape[-1]
        grid = img.reshape(samples, views, 3, r, r).permute(0, 3, 1, 4, 2).reshape(samples * r, views * r, 3)
        ax.imshow(grid.numpy())
        ax.set_axis_off()
        ax.set_title(f"{exp} ({cfg['dataset']['title']})", fontsize=8)
    fig.suptitle(f"{paper}: multi-view samples (rows: latents, columns: yaw) at scale '{scale}'", fontsize=9)
    return save_png(fig, out / paper / "multiview_samples.png")


def fig5_geometry(paper: str, scale: str, out: Path, samples: int = 3) -> Path:
    """Fig 5: per Table 1 run at 256^2 (one per 3D dataset), the iso-surface of G_ema's density field for
    ``samples`` fixed latents (marching cubes at the 97.5th percentile on a voxel grid of the tri-plane
    cube: 64^3 below paper scale, 256^3 as the official script at paper scale)."""
    exps = [e for e in list_experiments(paper) if e.startswith("t1-") and e.endswith("256")]
    fig = plt.figure(figsize=(samples * 2.6, len(exps) * 2.6 + 0.5))
    for row, exp in enumerate(exps):
        cfg = run_config(paper, exp, scale)
        G, _, payload = _load_nets(Path(cfg["paths"]["network"]))
        res = 256 if scale == "paper" else 64
        z = torch.randn(samples, G.z_dim, generator=torch.Generator().manual_seed(0))
        c = torch.eye(G.c_dim)[torch.arange(samples) % G.c_dim] if G.c_dim else None
        sigma = density_volume(G, z, c, res)
        cube = G.camera["cube_scale"]
        for i in range(samples):
            ax = fig.add_subplot(len(exps), samples, row * samples + i + 1, projection="3d")
            mesh = mesh_from_density(sigma[i], cube)
            if mesh is None:
                ax.set_axis_off()
                ax.set_title("constant density", fontsize=7)
                continue
            verts, faces, level = mesh
            draw_mesh(ax, verts, faces, cube)
            head = f"{exp} ({cfg['dataset']['title'][:40]})\n" if i == 0 else "\n"
            ax.set_title(f"{head}z{i}: {len(faces)} faces, sigma > {level:.3g}", fontsize=6, loc="left")
    fig.suptitle(f"{paper} Fig. 5: geometry (marching cubes at the {THRESH_PERCENTILE:g}th density percentile, "
                 f"{res}^3 voxels) at scale '{scale}'", fontsize=9)
    return save_png(fig, out / paper / "fig5_geometry.png")
