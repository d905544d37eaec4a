"""Fig 6: convergence of uniform vs Beta patch-scale sampling, as log FID@N of G_ema against kimg.

The Fig 6 runs (``f6-*`` in params/experiments/epigraf.yaml: Cats 256, 5000 kimg, uniform T = 1k, 5k,
10k and Beta T = 10k) keep G_ema at ``keep_networks`` points (``runs/<scale>/epigraf/<exp>/networks/``).
Each kept network is measured with the tables' own FID protocol (the scale's extractor and real set)
on the scale's ``num_fake`` fakes, 2048 in the paper ("FID@2k").
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ...config import list_experiments, resolve_run  # noqa: E402
from ...data import open_archive  # noqa: E402
from ...metrics.fidelity import compute_fidelity  # noqa: E402
from ...paths import fidelity_cache  # noqa: E402
from ...reports.figures import save_png  # noqa: E402
from ...stages.evaluate import EVAL_SEED, eval_labels, sample_images  # noqa: E402
from ...training.loop import generator_sampler, load_generator  # noqa: E402
from ...utils_io import ensure_writable_dir  # noqa: E402

FIG6_PREFIX = "f6-"


def convergence_runs(paper: str, scale: str) -> list[dict]:
    return [resolve_run(paper, e, scale) for e in list_experiments(paper) if e.startswith(FIG6_PREFIX)]


def fid_at(cfg: dict, network: Path) -> dict:
    """{kimg, fid, metric} of one kept G_ema, with the scale's FID protocol (extractor, num_fake, reals)."""
    ev, scale = cfg["eval"], cfg["scale"]
    G, payload = load_generator(network)
    labels = eval_labels(open_archive(cfg["dataset"]["path"]), ev["num_fake"], EVAL_SEED, cfg["dataset"]["num_classes"])
    images = sample_images(G, ev["num_fake"], seed=EVAL_SEED, labels=labels, device="cpu",
                           sample=generator_sampler(G, payload))
    metrics = compute_fidelity(images, cfg["dataset"]["path"], extractor=ev["extractor"], metrics=["fid"],
                               num_fake=ev["num_fake"], num_real=ev["num_real"], seed=EVAL_SEED,
                               cache_dir=str(ensure_writable_dir(fidelity_cache(scale))), device="cpu")
    name, entry = next((k, v) for k, v in metrics.items() if k.startswith("fid"))
    return {"kimg": payload["kimg"], "fid": entry["value"], "metric": name}


def _label(cfg: dict) -> str:
    sched = cfg["schedule"]
    kind = "uniform" if "patch_smin" in sched else "beta"
    entry = sched.get("patch_smin") or sched["patch_beta"]
    paper_t = entry["kimg"] / cfg["train"]["time_ratio"]  # T in the paper's kimg
    return f"[{kind}] T = {paper_t / 1000:g}k"


def fig6_convergence(paper: str, scale: str, out: Path) -> Path:
    """Fig 6: log FID@N against kimg seen by D for every Fig 6 run (T in the paper's kimg in the legend,
    the x axis in the kimg this scale trained)."""
    runs = convergence_runs(paper, scale)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    metric = ""
    for cfg in runs:
        networks = sorted((Path(cfg["paths"]["run_dir"]) / "networks").glob("network-*.pt"))
        points = [fid_at(cfg, p) for p in networks]
        if not points:
            continue
        metric = points[0]["metric"]
        ax.plot([p["kimg"] for p in points], np.log([p["fid"] for p in points]), marker="o", label=_label(cfg))
    ax.set(xlabel="kimg seen by D", ylabel=f"log {metric or 'FID'}")
    ax.legend(fontsize=8)
    n = runs[0]["eval"]["num_fake"] if runs else "?"
    ax.set_title(f"{paper} Fig. 6 at scale '{scale}': Cats stand-in, uniform vs beta scales, FID@{n}", fontsize=9)
    return save_png(fig, out / paper / "fig6_convergence.png")
