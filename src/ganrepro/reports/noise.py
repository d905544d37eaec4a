"""The noise of reproduced cells, and what it does to rank agreement: ties and an interval on tau.

A reproduced cell carries up to two uncertainties (columns of the long table CSVs, ``reports/tables.py``):
the evaluation-sample interval of its metric (``ci_lo``, ``ci_hi``: FID's bootstrap ci95,
``metrics/bootstrap.py``) and, where the scale trains several seeds, the std over seeds
(``reproduced_std``). Here:

- a cell's **noise interval** is the hull of ``[ci_lo, ci_hi]`` and ``value +- std`` (a point without either);
- a pair of rows whose reproduced order is the reverse of the paper's is a **tie** when the two noise
  intervals overlap, a **flip** when they are disjoint;
- **tau's interval**: each reproduced cell is drawn ``TAU_DRAWS`` times from a normal centred on its value
  with sd ``max(std, ci half-width / 1.96)``, Kendall's tau-b against the paper's values recomputed for
  each draw, and the 2.5 / 97.5 percentiles taken (seeded), widened to include the observed tau. With no
  uncertainty at all the interval is the point.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Sequence

import numpy as np

TAU_DRAWS = 2000
TAU_SEED = 0
Z95 = 1.959963984540054


def noise_interval(value: float, std: float = 0.0, ci: tuple[float, float] | None = None) -> tuple[float, float]:
    """Hull of ``value +- std`` and ``ci`` (module docstring)."""
    lo, hi = value - std, value + std
    if ci is not None:
        lo, hi = min(lo, ci[0]), max(hi, ci[1])
    return lo, hi


def noise_sd(std: float = 0.0, ci: tuple[float, float] | None = None) -> float:
    """The sd a cell is perturbed with for tau's interval: the larger of the seeds' std and the ci's."""
    return max(std, (ci[1] - ci[0]) / (2 * Z95) if ci is not None else 0.0)


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _pair_signs(values: np.ndarray) -> np.ndarray:
    """sign(v_i - v_j) for every pair i < j, along the last axis."""
    i, j = np.array(list(combinations(range(values.shape[-1]), 2))).T
    return np.sign(values[..., i] - values[..., j])


def tau_b_rows(reported: Sequence[float], reproduced: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of ``reported`` against each row of ``reproduced`` ([draws, n]); nan without pairs."""
    x, y = _pair_signs(np.asarray(reported, float)), _pair_signs(np.atleast_2d(reproduced))
    denom = np.sqrt(np.count_nonzero(x) * np.count_nonzero(y, axis=-1).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (y * x).sum(-1) / denom, np.nan)


def tau_interval(reported: Sequence[float], reproduced: Sequence[float], sds: Sequence[float], *,
                 draws: int = TAU_DRAWS, seed: int = TAU_SEED) -> tuple[float, float]:
    """(lo, hi) of tau-b under the cells' noise (module docstring); (nan, nan) when tau is undefined."""
    values, sds = np.asarray(reproduced, float), np.asarray(sds, float)
    tau = float(tau_b_rows(reported, values)[0])
    if math.isnan(tau):
        return math.nan, math.nan
    sims = values + np.random.default_rng(seed).standard_normal((int(draws), len(values))) * sds
    taus = tau_b_rows(reported, sims)
    taus = taus[~np.isnan(taus)]
    lo, hi = np.percentile(taus, (2.5, 97.5)) if len(taus) else (tau, tau)
    return min(float(lo), tau), max(float(hi), tau)
