"""One training step of a scheme: the batch it needs and its D, R1 and G losses.

Shared by the training objective (``objective.py``) and the cost benchmark (``cost_bench.py``), so the
benchmark times exactly what training runs. Losses are CIPS's: non-saturating logistic loss, lazy R1
on real inputs (gamma and interval: ``paper_r1``, from params), plus the patch regularisation against a frozen teacher in
multi-stage stages >= 2. Fakes and reals of a step share coordinates (as in CIPS, where one coordinate
tensor is drawn per batch and given to G and, as extra channels, to D).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .stages import (
    StagePlan,
    draw_offsets,
    patch_regularisation,
    real_patches,
    stage_coords,
    teacher_offsets,
)



def paper_r1() -> tuple[float, int]:
    """(gamma, interval) of CIPS's lazy R1 at the paper's size: params/experiments/inr_multistage.yaml's defaults."""
    from ganrepro.config import load_params

    defaults = load_params().experiments["inr_multistage"]["defaults"]
    return float(defaults["schedule"]["gamma"]["start"]), int(defaults["loss"]["reg_interval"])


def paper_g_reg_every() -> int:
    """CIPS train.py's g_reg_every (its G optimiser takes lr x 4/5, beta2 ^ 4/5): params' defaults."""
    from ganrepro.config import load_params

    return int(load_params().experiments["inr_multistage"]["defaults"]["loss"].get("g_reg_every", 0))


def make_step_batch(plan: StagePlan, images: torch.Tensor, z_dim: int, *, teacher_plan: StagePlan | None = None,
                    real_resize: str = "area") -> dict[str, torch.Tensor]:
    """Everything one step needs, batch on dim 0 (random draws from torch's global RNG).

    images: real images [B, C, H, H] in [-1, 1]. Returns z (D phase), z_g (G phase), coords
    [B, 2, p, p], reals [B, C, p, p] (reals on the stage grid, cropped at the same windows) and, with a
    teacher, teacher_coords [B, 2, p, p] (the teacher's own stage window) and region [B, 2]."""
    batch, device = images.shape[0], images.device
    offsets = draw_offsets(plan, batch, device)
    out = {"z": torch.randn(batch, z_dim, device=device), "z_g": torch.randn(batch, z_dim, device=device),
           "offsets": offsets, "coords": stage_coords(plan, offsets),
           "reals": real_patches(images, plan, offsets, resize=real_resize)}
    if teacher_plan is not None:
        t, region = teacher_offsets(plan, teacher_plan, offsets)
        out["teacher_coords"], out["region"] = stage_coords(teacher_plan, t), region
    return out


def d_loss(G, D, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    """softplus(D(fake)) + softplus(-D(real)), fakes rendered at the batch's coordinates."""
    coords = batch["coords"]
    with torch.no_grad():
        fake = G(batch["z"], coords=coords)
    fake_logits = D(fake, coords=coords)
    real_logits = D(batch["reals"], coords=coords)
    loss = (F.softplus(fake_logits) + F.softplus(-real_logits)).mean()
    return loss, {"loss_d": float(loss.detach()), "D_real": float(real_logits.detach().mean()),
                  "D_fake": float(fake_logits.detach().mean())}


def r1_loss(D, batch: dict, gamma: float) -> tuple[torch.Tensor, dict[str, float]]:
    """gamma/2 * E ||grad_x D(x)||^2 on real RGB (coordinate channels are not penalised)."""
    reals = batch["reals"].detach().requires_grad_(True)
    logits = D(reals, coords=batch["coords"])
    (grad,) = torch.autograd.grad(logits.sum(), reals, create_graph=True)
    penalty = grad.square().flatten(1).sum(1).mean()
    return penalty * (gamma / 2), {"r1": float(penalty.detach())}


def g_loss(G, D, batch: dict, *, teacher=None, patch_weight: float = 1.0, patch_resize: str = "subsample",
           teacher_noise: str = "none") -> tuple[torch.Tensor, dict[str, float]]:
    """softplus(-D(G(z))) + [patch_weight * L_patch against the frozen teacher]."""
    coords = batch["coords"]
    fake = G(batch["z_g"], coords=coords)
    adv = F.softplus(-D(fake, coords=coords)).mean()
    stats = {"loss_g_adv": float(adv.detach())}
    loss = adv
    if teacher is not None:
        with torch.no_grad():
            teacher_img = teacher(batch["z_g"], coords=batch["teacher_coords"], noise_mode=teacher_noise)
        patch = patch_regularisation(fake, teacher_img, batch["region"], resize=patch_resize)
        loss = loss + patch_weight * patch
        stats["loss_patch"] = float(patch.detach())
    stats["loss_g"] = float(loss.detach())
    return loss, stats
