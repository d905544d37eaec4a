"""R3GAN's D phase in one D pass over reals and fakes (run_D_pair, pair_gradient_sq_norm) equals two passes."""

import contextlib
from types import SimpleNamespace

import pytest
import torch

from ganrepro.losses import d_loss, gradient_sq_norm, pair_gradient_sq_norm
from ganrepro.models.r3gan import R3GANDiscriminator
from ganrepro.objectives.adversarial import AdversarialObjective


def _objective(D):
    obj = AdversarialObjective.__new__(AdversarialObjective)
    obj.nets = SimpleNamespace(D=D, augment=lambda x, p: x)
    obj.autocast = contextlib.nullcontext
    return obj


def _d_phase_grads(D, real, fake, c, paired: bool):
    real, fake = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    obj = _objective(D)
    if paired:
        rl, fl = obj.run_D_pair(real, fake, c, 0.0)
        r1, r2 = pair_gradient_sq_norm(rl, fl, real, fake, create_graph=True)
    else:
        rl, fl = obj.run_D(real, c, 0.0), obj.run_D(fake, c, 0.0)
        r1 = gradient_sq_norm(rl, real, create_graph=True)
        r2 = gradient_sq_norm(fl, fake, create_graph=True)
    total = d_loss("rpgan", rl, fl).mean() + 0.7 * (r1.mean() + r2.mean())
    D.zero_grad(set_to_none=True)
    total.backward()
    return [rl, fl, r1, r2] + [p.grad.clone() for p in D.parameters()]


def test_paired_d_pass_equals_two_passes():
    torch.manual_seed(0)
    D = R3GANDiscriminator(resolution=16, img_channels=3, num_classes=5, widths=[32, 32, 16], group_size=8)
    for p in D.parameters():  # away from the fix-up init (zero last convs), so every term is non-zero
        torch.nn.init.normal_(p, std=0.2)
    real, fake = torch.randn(6, 3, 16, 16), torch.randn(6, 3, 16, 16)
    c = torch.randint(0, 5, (6,))
    assert D.per_sample
    for a, b in zip(_d_phase_grads(D, real, fake, c, True), _d_phase_grads(D, real, fake, c, False)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * max(b.abs().max().item(), 1.0))


def _two_pass_d_phase(obj, b, sched, gain):
    """The D phase as it was before the paired pass (7f7545c): two D passes, two input-gradient passes."""
    loss_cfg = obj.loss
    with torch.no_grad():
        fake, _ = obj.run_G(b["z_d"], b["c_d"])
    real = b["real_d"].detach().requires_grad_(True)
    fake = fake.detach().float().requires_grad_(True)
    real_logits = obj.run_D(real, b["c_d"], sched["aug_p"])
    fake_logits = obj.run_D(fake, b["c_d"], sched["aug_p"])
    adv = d_loss(loss_cfg["objective"], real_logits, fake_logits).mean()
    r1_sq = gradient_sq_norm(real_logits, real, create_graph=loss_cfg["r1"])
    r2_sq = gradient_sq_norm(fake_logits, fake, create_graph=loss_cfg["r2"])
    penalty = torch.zeros([])
    if loss_cfg["r1"]:
        penalty = penalty + r1_sq.mean()
    if loss_cfg["r2"]:
        penalty = penalty + r2_sq.mean()
    reg_weight = sched["gamma"] / 2 * loss_cfg["reg_interval"]
    ((adv + reg_weight * penalty) * gain).backward()
    return {"loss_d": adv.item(), "loss_d_reg": (reg_weight * penalty).item(), "d_real": real_logits.mean().item(),
            "d_fake": fake_logits.mean().item(), "grad_sq_real": r1_sq.mean().item(),
            "grad_sq_fake": r2_sq.mean().item()}



@pytest.mark.parametrize("r2", [True, False])
def test_the_objectives_d_phase_equals_the_two_pass_d_phase_with_augmentation(tmp_path, r2):
    """R3GANObjective._d_phase itself (augmentation at p 0.5, its RNG order, gamma, gain, stats, R2 on/off)."""
    from ganrepro.data import open_archive
    from ganrepro.objectives import objective_for
    from ganrepro.training.loop import build, seed_step
    from test_training import _cfg

    cfg = _cfg(tmp_path, exp="t6-e-cifar10")
    cfg["loss"]["r2"] = r2
    archive = open_archive(cfg["dataset"]["path"])
    torch.manual_seed(0)
    nets = build(cfg, archive, torch.device("cpu"))
    for p in nets.D.parameters():  # away from the fix-up init, so every term is non-zero
        torch.nn.init.normal_(p, std=0.1)
    assert nets.D.per_sample and cfg["augment"] != "none"
    obj = objective_for(cfg)(cfg, nets, archive, torch.device("cpu"))
    sched = {"aug_p": 0.5, "gamma": 0.3}
    out = []
    for run in (obj._d_phase, lambda b, s, g: _two_pass_d_phase(obj, b, s, g)):
        seed_step(0, 2)
        batch = obj.make_batch(2, 32, sched)
        batch["step"] = 2
        nets.D.zero_grad(set_to_none=True)
        torch.manual_seed(7)  # the augmentation's draws
        stats = run(batch, sched, 0.5)
        out.append((stats, [p.grad.clone() for p in nets.D.parameters()]))
    (s_pair, g_pair), (s_two, g_two) = out
    assert s_pair.keys() == s_two.keys()
    for k in s_two:
        assert s_pair[k] == pytest.approx(s_two[k], rel=1e-4, abs=1e-6), k
    for a, b in zip(g_pair, g_two):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * max(b.abs().max().item(), 1.0))
