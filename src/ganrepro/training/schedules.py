"""Schedules as data: any hyperparameter as a curve over images shown (kimg).

A resolved schedule is ``{name: {"curve": CURVE, "start": a, "end": b, "kimg": T}}``. Curves:

* ``cosine``: ``a`` at 0, a half-cosine to ``b`` at ``T``, then held (R3GAN's burn-in, appendix D);
* ``linear``: a straight line from ``a`` at 0 to ``b`` at ``T``, then held (EpiGRAF's Beta anneal);
* ``constant``: ``a`` throughout (``end`` and ``kimg`` ignored).

A new schedule (a blur fade, a patch-scale anneal) is a new entry in params, not new code in the loop.
"""

from __future__ import annotations

import math


def cosine_burnin(start: float, end: float, kimg: float, burnin_kimg: float) -> float:
    """Value at `kimg` images shown: start at 0, end at and after `burnin_kimg` (no warm-up)."""
    if burnin_kimg <= 0 or kimg >= burnin_kimg:
        return float(end)
    frac = max(kimg, 0.0) / burnin_kimg
    return float(end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * frac)))


def linear_anneal(start: float, end: float, kimg: float, span_kimg: float) -> float:
    if span_kimg <= 0 or kimg >= span_kimg:
        return float(end)
    return float(start + (end - start) * max(kimg, 0.0) / span_kimg)


def constant(start: float, end: float, kimg: float, span_kimg: float) -> float:
    del end, kimg, span_kimg
    return float(start)


CURVES = {"cosine": cosine_burnin, "linear": linear_anneal, "constant": constant}


def ema_beta(batch: int, halflife_kimg: float) -> float:
    """Per-step EMA decay for a half-life in thousands of images: beta = 0.5 ** (batch / half-life)."""
    if halflife_kimg <= 0:
        return 0.0
    return 0.5 ** (batch / (halflife_kimg * 1000.0))


def value_at(entry: dict, kimg: float) -> float:
    """A ``constant`` entry needs only ``start`` (a sweep's or ablation's ``{curve: constant, start: x}``)."""
    if entry["curve"] == "constant":
        return float(entry["start"])
    return CURVES[entry["curve"]](entry["start"], entry["end"], kimg, entry["kimg"])


def values_at(schedule: dict, kimg: float) -> dict:
    """Every scheduled hyperparameter at `kimg` (``schedule`` as resolved: name -> curve entry)."""
    return {name: value_at(entry, kimg) for name, entry in schedule.items()}
