"""What an embedded generator returns (kept apart so generators and the registry share it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Generated:
    images: np.ndarray  # uint8 [N, C, R, R]
    labels: np.ndarray | None  # int64 [N], or None when unlabelled
    num_classes: int
    extra_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    resize_filter: str | None = None  # how source pixels were resampled (None: rendered at size)
