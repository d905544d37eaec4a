"""Stage: evaluate one trained run (FID/KID/precision/recall or StackedMNIST modes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import resolve_run
from ..data import open_archive
from ..metrics.fidelity import compute_fidelity
from ..metrics.modes import compute_modes, load_digit_classifier
from ..provenance import provenance
from ..training.loop import load_generator, pick_device
from ..utils_io import read_json, write_json

EVAL_SEED = 123456  # latents and labels for evaluation; fixed so every run is judged on the same draw


@torch.no_grad()
def sample_images(G, num: int, *, seed: int, labels: np.ndarray | None, device, batch: int = 256) -> np.ndarray:
    """uint8 [num, C, H, W] samples of G for latents drawn from `seed` (and the given class labels)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # noise inputs of StyleGAN2-family generators
    out = []
    for start in range(0, num, batch):
        n = min(batch, num - start)
        z = torch.randn([n, G.z_dim], generator=gen).to(device)
        c = None if labels is None else torch.as_tensor(labels[start:start + n], dtype=torch.long, device=device)
        img = G(z, c).float()
        out.append((img * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy())
    return np.concatenate(out)


def eval_labels(archive, num: int, seed: int, num_classes: int) -> np.ndarray | None:
    """Class labels for conditional sampling: drawn from the training set's label distribution."""
    if num_classes == 0:
        return None
    rng = np.random.default_rng(seed)
    return np.asarray(archive.labels)[rng.integers(0, len(archive), size=num)]


def evaluate_run(paper: str, experiment: str, scale: str) -> dict:
    cfg = resolve_run(paper, experiment, scale)
    result = read_json(cfg["paths"]["result"])
    ev = cfg["eval"]
    record = {"paper": paper, "experiment": experiment, "scale": scale, "train_status": result["status"],
              "train_kimg": result["kimg"], "metrics": {}}
    if result["status"] != "ok":
        record["fail"] = {"reason": result["reason"], "step": result["step"], "kimg": result["kimg"]}
    else:
        device = pick_device(cfg["train"]["device"])
        G, _ = load_generator(cfg["paths"]["network"], device)
        archive = open_archive(cfg["dataset"]["path"])
        if ev["kind"] == "modes":
            images = sample_images(G, ev["mode_samples"], seed=EVAL_SEED, labels=None, device=device)
            classifier = load_digit_classifier(ev["digit_classifier"])
            record["metrics"] = compute_modes(images, classifier, tag=Path(ev["digit_classifier"]).stem, seed=EVAL_SEED)
        else:
            labels = eval_labels(archive, ev["num_fake"], EVAL_SEED, cfg["dataset"]["num_classes"])
            images = sample_images(G, ev["num_fake"], seed=EVAL_SEED, labels=labels, device=device)
            record["metrics"] = compute_fidelity(
                images, cfg["dataset"]["path"], extractor=ev["extractor"], pr_extractor=ev["pr_extractor"],
                metrics=ev["metrics"], kid_subsets=ev["kid_subsets"],
                num_fake=ev["num_fake"], num_real=ev["num_real"], cache_dir=f"data/{scale}/fidelity-cache",
                seed=EVAL_SEED, device=str(device))
    record["provenance"] = provenance(config=cfg, seeds={"train": cfg["seed"], "eval": EVAL_SEED})
    write_json(cfg["paths"]["metrics"], record)
    return record
