"""Hierarchical volume rendering of a tri-plane field (the reference's pi-GAN-style renderer).

Per ray: ``n_coarse`` stratified depths in [near, far] (jittered inside their bins when
``perturb``), the field evaluated there; compositing weights from them; ``n_fine`` importance
depths drawn by inverse-CDF from the coarse weights (bins = midpoints of the coarse depths, inner
weights + 1e-5 in the renderer and + 1e-5 again in the pdf sampler, as the official code; samples detached); both sets merged, sorted and composited again.

Density = softplus(raw + noise_std * N(0, 1)) (noise annealed by the caller), alpha =
1 - exp(-sigma * delta) with the last interval 1e10, weights = alpha * transmittance;
white background adds (1 - sum of weights) to the RGB channels.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

LAST_DELTA = 1e10
PDF_EPS = 1e-5  # added to the importance weights twice (renderer and sampler), as the official code


def stratified_depths(near: float, far: float, n: int, shape: tuple[int, ...], *, perturb: bool,
                      device=None) -> torch.Tensor:
    """[*shape, n] depths: linspace(near, far, n), each jittered uniformly between its bin midpoints."""
    depths = torch.linspace(near, far, n, device=device).expand(*shape, n)
    if not perturb or n < 2:
        return depths.clone()
    mids = 0.5 * (depths[..., 1:] + depths[..., :-1])
    upper = torch.cat([mids, depths[..., -1:]], dim=-1)
    lower = torch.cat([depths[..., :1], mids], dim=-1)
    return lower + (upper - lower) * torch.rand_like(depths)


def composite(rgb: torch.Tensor, sigma_raw: torch.Tensor, depths: torch.Tensor, *, noise_std: float = 0.0,
              white_back: bool = False, last_delta: float = LAST_DELTA) -> dict[str, torch.Tensor]:
    """Alpha compositing along the last sample axis.

    rgb [..., S, C], sigma_raw [..., S], depths [..., S] sorted. Returns ``rgb`` [..., C],
    ``depth`` [...], ``weights`` [..., S], ``opacity`` [...] (sum of weights; 1 - opacity is the
    transmittance after the last sample). ``last_delta``: the last interval's length (infinite by
    default; finite when a background is composited behind).
    """
    deltas = torch.cat([depths[..., 1:] - depths[..., :-1],
                        torch.full_like(depths[..., :1], last_delta)], dim=-1)
    if noise_std > 0:
        sigma_raw = sigma_raw + noise_std * torch.randn_like(sigma_raw)
    sigma = F.softplus(sigma_raw)
    alpha = 1.0 - torch.exp(-deltas * sigma)
    transmittance = torch.cumprod(1.0 - alpha + 1e-10, dim=-1)
    transmittance = torch.cat([torch.ones_like(transmittance[..., :1]), transmittance[..., :-1]], dim=-1)
    weights = alpha * transmittance
    opacity = weights.sum(-1)
    out = (weights[..., None] * rgb).sum(-2)
    if white_back:
        out = out + (1.0 - opacity)[..., None]
    return {"rgb": out, "depth": (weights * depths).sum(-1), "weights": weights, "opacity": opacity}


def sample_pdf(bins: torch.Tensor, weights: torch.Tensor, n: int, *, deterministic: bool = False,
               eps: float = PDF_EPS) -> torch.Tensor:
    """Inverse-CDF samples from the piecewise-constant pdf ``weights`` [R, B] on ``bins`` [R, B + 1].

    Returns [R, n] depths; deterministic mode uses u = linspace(0, 1, n) instead of U(0, 1).
    """
    rays, num_bins = weights.shape
    pdf = (weights + eps) / (weights + eps).sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, -1)], dim=-1)  # [R, B + 1]
    if deterministic:
        u = torch.linspace(0.0, 1.0, n, device=bins.device).expand(rays, n).contiguous()
    else:
        u = torch.rand(rays, n, device=bins.device)
    idx = torch.searchsorted(cdf.contiguous(), u, right=True)
    below, above = (idx - 1).clamp(0, num_bins), idx.clamp(0, num_bins)
    cdf_lo, cdf_hi = cdf.gather(1, below), cdf.gather(1, above)
    bin_lo, bin_hi = bins.gather(1, below), bins.gather(1, above)
    denom = cdf_hi - cdf_lo
    denom = torch.where(denom < eps, torch.ones_like(denom), denom)
    return bin_lo + (u - cdf_lo) / denom * (bin_hi - bin_lo)


def render_rays(field: Callable[[torch.Tensor], torch.Tensor], origins: torch.Tensor, dirs: torch.Tensor, *,
                near: float, far: float, n_coarse: int, n_fine: int, noise_std: float = 0.0,
                white_back: bool = False, perturb: bool = True,
                last_delta: float = LAST_DELTA) -> dict[str, torch.Tensor]:
    """Render rays ``origins`` [N, 3] + t * ``dirs`` [N, P, 3] through ``field`` (points [N, M, 3] ->
    [N, M, C + 1]); returns ``composite``'s dict with ``rgb`` [N, P, C], ``depth`` [N, P]."""
    n, p, _ = dirs.shape
    depths = stratified_depths(near, far, n_coarse, (n, p), perturb=perturb, device=dirs.device)

    def evaluate(t: torch.Tensor) -> torch.Tensor:
        points = origins[:, None, None] + dirs[:, :, None] * t[..., None]  # [N, P, S, 3]
        return field(points.reshape(n, -1, 3)).reshape(n, p, t.shape[-1], -1)

    coarse = evaluate(depths)
    if n_fine <= 0:
        return composite(coarse[..., :-1], coarse[..., -1], depths, noise_std=noise_std, white_back=white_back,
                         last_delta=last_delta)
    with torch.no_grad():
        weights = composite(coarse[..., :-1], coarse[..., -1], depths, noise_std=noise_std,
                            last_delta=last_delta)["weights"] + PDF_EPS  # official: + eps here and again in sample_pdf
        flat_depths = depths.reshape(n * p, n_coarse)
        mids = 0.5 * (flat_depths[:, 1:] + flat_depths[:, :-1])
        fine_depths = sample_pdf(mids, weights.reshape(n * p, n_coarse)[:, 1:-1], n_fine,
                                 deterministic=not perturb).reshape(n, p, n_fine)
    fine = evaluate(fine_depths)
    all_depths, order = torch.sort(torch.cat([fine_depths, depths], dim=-1), dim=-1)
    all_out = torch.cat([fine, coarse], dim=2).gather(2, order[..., None].expand(-1, -1, -1, coarse.shape[-1]))
    return composite(all_out[..., :-1], all_out[..., -1], all_depths, noise_std=noise_std, white_back=white_back,
                     last_delta=last_delta)
