"""Helpers shared by the real-data preparers: subsetting and label policy."""

from __future__ import annotations

import numpy as np

from ganrepro.errors import DatasetError


def subset_indices(available: int, count: int | None, seed: int, where: str) -> np.ndarray:
    """Sorted indices of ``count`` images drawn without replacement (all of them when None)."""
    if available < 1:
        raise DatasetError(f"{where}: no images found")
    if count is None or int(count) == available:
        return np.arange(available)
    count = int(count)
    if not 1 <= count <= available:
        raise DatasetError(f"{where}: count {count} asked for, but only {available} images are available; "
                           f"lower 'count' (or set it to null for all images)")
    return np.sort(np.random.default_rng([int(seed), 0xC0117]).choice(available, count, replace=False))


def label_policy(labels: np.ndarray | None, found: int, requested: int | None,
                 where: str) -> tuple[np.ndarray | None, int]:
    """Apply the spec's ``num_classes``: None keeps what was found, 0 drops labels, else must match."""
    if requested is None:
        return labels, (found if labels is not None else 0)
    if int(requested) == 0:
        return None, 0
    if labels is None:
        raise DatasetError(f"{where}: num_classes {requested} requested but the source has no labels "
                           f"(use class subfolders or a dataset.json, or set num_classes: 0)")
    if int(requested) != found:
        raise DatasetError(f"{where}: the source has {found} classes but num_classes {requested} was "
                           f"requested; fix num_classes in the dataset spec")
    return labels, found
