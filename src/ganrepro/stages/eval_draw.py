"""The evaluation draw: the fixed latents and labels every run is judged on, sampled in batches."""

from __future__ import annotations

import numpy as np
import torch

EVAL_SEED = 123456  # latents and labels for evaluation; fixed so every run is judged on the same draw


@torch.no_grad()
def sample_images(G, num: int, *, seed: int, labels: np.ndarray | None, device, batch: int = 256,
                  sample=None) -> np.ndarray:
    """uint8 [num, C, H, W] samples of G for latents drawn from `seed` (and the given class labels).

    ``sample(z, c)`` draws full images as the run's objective does (default: ``G(z, c)``).
    """
    sample = sample or G
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # noise inputs of StyleGAN2-family generators
    out = []
    for start in range(0, num, batch):
        n = min(batch, num - start)
        z = torch.randn([n, G.z_dim], generator=gen).to(device)
        c = None if labels is None else torch.as_tensor(labels[start:start + n], dtype=torch.long, device=device)
        img = sample(z, c).float()
        out.append((img * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy())
    return np.concatenate(out)


def eval_labels(archive, num: int, seed: int, num_classes: int) -> np.ndarray | None:
    """Class labels for conditional sampling: drawn from the training set's label distribution."""
    if num_classes == 0:
        return None
    rng = np.random.default_rng(seed)
    return np.asarray(archive.labels)[rng.integers(0, len(archive), size=num)]
