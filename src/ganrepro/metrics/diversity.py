"""Sample diversity: how much fakes vary across latents, relative to the real images.

``spread_ratio`` = mean per-pixel standard deviation of the fakes within each class (over the whole set
when unconditional), divided by the same of the real images. 1 is the real data's variety; a
generator that ignores its latent (every z of a class draws one picture) scores near 0. A diagnostic
of the small-scale sweeps (docs/SWEEPS.md): FID mixes fidelity with variety, this isolates variety.
"""

from __future__ import annotations

import numpy as np


def within_class_std(images: np.ndarray, labels: np.ndarray | None) -> float:
    """Mean over classes of the mean per-pixel std of uint8 images [N, C, H, W], in [0, 1] units."""
    x = images.astype(np.float32) / 255.0
    if labels is None:
        return float(x.std(0).mean())
    stds = [x[labels == k].std(0).mean() for k in np.unique(labels) if (labels == k).sum() > 1]
    return float(np.mean(stds))


def spread_ratio(fakes: np.ndarray, fake_labels: np.ndarray | None, reals: np.ndarray,
                 real_labels: np.ndarray | None) -> float:
    return within_class_std(fakes, fake_labels) / max(within_class_std(reals, real_labels), 1e-8)
