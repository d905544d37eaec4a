"""R3GAN's D phase in one D pass over reals and fakes (run_D_pair, pair_gradient_sq_norm) equals two passes."""

import contextlib
from types import SimpleNamespace

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
