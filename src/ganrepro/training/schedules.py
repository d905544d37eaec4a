"""Burn-in schedules: a cosine decay from a start to an end value, then held (R3GAN appendix D)."""

from __future__ import annotations

import math


def cosine_burnin(start: float, end: float, kimg: float, burnin_kimg: float) -> float:
    """Value at `kimg` images shown: start at 0, end at and after `burnin_kimg` (no warm-up)."""
    if burnin_kimg <= 0 or kimg >= burnin_kimg:
        return float(end)
    frac = max(kimg, 0.0) / burnin_kimg
    return float(end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * frac)))


def ema_beta(batch: int, halflife_kimg: float) -> float:
    """Per-step EMA decay for a half-life in thousands of images: beta = 0.5 ** (batch / half-life)."""
    if halflife_kimg <= 0:
        return 0.0
    return 0.5 ** (batch / (halflife_kimg * 1000.0))


def values_at(schedule: dict, kimg: float) -> dict:
    """Every scheduled hyperparameter at `kimg`."""
    t = schedule["burnin_kimg"]
    return {
        "lr": cosine_burnin(*schedule["lr"], kimg, t),
        "beta2": cosine_burnin(*schedule["beta2"], kimg, t),
        "gamma": cosine_burnin(*schedule["gamma"], kimg, t),
        "ema_halflife_kimg": cosine_burnin(*schedule["ema_halflife_kimg"], kimg, t),
        "aug_p": cosine_burnin(*schedule["aug_p"], kimg, t),
    }
