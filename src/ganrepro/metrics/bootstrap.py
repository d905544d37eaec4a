"""Bootstrap interval of an FID over its evaluation samples.

The FID point value is torch-fidelity's (``metrics/fidelity.py``); this module only says how much it would
move under another draw of the same number of generated and real images. Each of ``B`` replicates
resamples both feature sets with replacement (multinomial counts, so no feature matrix is copied), fits
mean and unbiased covariance, and takes the Frechet distance ``||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2)``
(the trace of the root through symmetric eigendecompositions of ``S1^1/2 S2 S1^1/2``).

Resampling with replacement duplicates samples, which inflates FID (its bias grows as the effective sample
shrinks): the replicates' mean sits above the point value. The interval is therefore the percentile
interval shifted back by that bias (``mean(replicates) - point``), and clipped at 0 (an FID is never
negative). ``std`` is the replicates' standard deviation.
"""

from __future__ import annotations

import time

import numpy as np
import torch

FID_BOOTSTRAP = 200  # replicates per FID; 0 turns the interval off
CI_PERCENTILES = (2.5, 97.5)
METHOD = "percentile over B resamples (with replacement) of fake and real features, shifted by the bootstrap bias"


def weighted_stats(x, counts):
    """Mean and unbiased covariance (float64) of the rows of ``x`` [n, d] repeated ``counts`` times
    (numpy arrays or torch tensors)."""
    n = counts.sum()
    mu = counts @ x / n
    xc = x - mu
    cov = (xc * counts[:, None]).T @ xc / (n - 1)
    if isinstance(x, torch.Tensor):
        return mu.double(), cov.double()
    return mu.astype(np.float64), cov.astype(np.float64)


def _psd_root(s, linalg):
    """A matrix ``r`` with ``r @ r.T == s``: Cholesky, or the eigendecomposition when ``s`` is singular
    (dead feature units). ``linalg``: ``numpy.linalg`` or ``torch.linalg``."""
    try:
        return linalg.cholesky(s)
    except (np.linalg.LinAlgError, RuntimeError):  # torch raises torch.linalg.LinAlgError, a RuntimeError
        w, v = linalg.eigh(s)
        return v * w.clip(min=0) ** 0.5


def frechet(mu1, s1, mu2, s2) -> float:
    """Frechet distance between N(mu1, s1) and N(mu2, s2) (numpy arrays or torch tensors); tr (s1 s2)^1/2
    as the sum of the roots of the eigenvalues of the symmetric ``r.T s2 r`` (``r r.T = s1``)."""
    linalg = torch.linalg if isinstance(s1, torch.Tensor) else np.linalg
    r = _psd_root(s1, linalg)
    m = r.T @ s2 @ r
    tr_covmean = float((linalg.eigvalsh((m + m.T) / 2).clip(min=0) ** 0.5).sum())
    diff = mu1 - mu2
    return float(diff @ diff + s1.trace() + s2.trace()) - 2 * tr_covmean


def _replicates(x1, x2, B: int, seed: int) -> tuple[float, np.ndarray]:
    """(FID of the sets, FIDs of ``B`` resamples); ``x1``, ``x2``: float32 numpy arrays or tensors."""
    gen = np.random.default_rng(int(seed))
    n1, n2 = len(x1), len(x2)
    as_x = (lambda a: torch.as_tensor(a, device=x1.device)) if isinstance(x1, torch.Tensor) else (lambda a: a)
    point = frechet(*weighted_stats(x1, as_x(np.ones(n1, np.float32))),
                    *weighted_stats(x2, as_x(np.ones(n2, np.float32))))
    reps = np.empty(int(B))
    for b in range(int(B)):
        c1 = np.bincount(gen.integers(0, n1, n1), minlength=n1).astype(np.float32)
        c2 = np.bincount(gen.integers(0, n2, n2), minlength=n2).astype(np.float32)
        reps[b] = frechet(*weighted_stats(x1, as_x(c1)), *weighted_stats(x2, as_x(c2)))
    return point, reps


def bootstrap_fid(fake, real, *, B: int = FID_BOOTSTRAP, seed: int = 0, device: str = "cpu") -> dict:
    """``{"ci95": [lo, hi], "std", "bias", "bootstrap": {B, seed, method, seconds}}`` of the FID between two
    feature sets ([n, d] each). Deterministic for a seed. On CPU it runs in numpy on one BLAS thread (on a
    shared machine, threaded BLAS on these small products is 10-30x slower); on CUDA in torch."""
    t0 = time.perf_counter()
    if str(device).startswith("cuda"):
        x1, x2 = (torch.as_tensor(a).to(device=device, dtype=torch.float32) for a in (fake, real))
        point, reps = _replicates(x1, x2, B, seed)
    else:
        from threadpoolctl import threadpool_limits

        x1, x2 = (torch.as_tensor(a).to(torch.float32).numpy() for a in (fake, real))
        with threadpool_limits(limits=1):
            point, reps = _replicates(x1, x2, B, seed)
    bias = float(reps.mean() - point)
    lo, hi = (float(q) - bias for q in np.percentile(reps, CI_PERCENTILES))
    return {"ci95": [max(lo, 0.0), max(hi, 0.0)], "std": float(reps.std(ddof=1)), "bias": bias,
            "bootstrap": {"B": int(B), "seed": int(seed), "method": METHOD,
                          "seconds": round(time.perf_counter() - t0, 3)}}
