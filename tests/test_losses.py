import math

import pytest
import torch

from ganrepro.losses import d_loss, g_loss, gradient_sq_norm, path_length_penalty


@pytest.mark.parametrize("objective", ["rpgan", "nsgan"])
def test_equal_logits_give_log2(objective):
    logits = torch.zeros(5)
    expected = math.log(2) if objective == "rpgan" else 2 * math.log(2)
    assert torch.allclose(d_loss(objective, logits, logits), torch.full((5,), expected))


def test_rpgan_is_relativistic_and_paired_by_index():
    real = torch.tensor([3.0, -1.0])
    fake = torch.tensor([1.0, -2.0])
    # Only differences matter: shifting both by a constant leaves the loss unchanged.
    assert torch.allclose(d_loss("rpgan", real, fake), d_loss("rpgan", real + 7, fake + 7))
    assert torch.allclose(d_loss("rpgan", real, fake), torch.nn.functional.softplus(-(real - fake)))
    assert torch.allclose(g_loss("rpgan", fake, real), torch.nn.functional.softplus(-(fake - real)))


def test_nsgan_values():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    expected = math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-1.0))
    assert d_loss("nsgan", real, fake).item() == pytest.approx(expected, rel=1e-6)
    assert g_loss("nsgan", fake).item() == pytest.approx(math.log1p(math.exp(1.0)), rel=1e-6)


def test_rpgan_g_loss_needs_real_logits():
    with pytest.raises(ValueError, match="real logits"):
        g_loss("rpgan", torch.zeros(2))


def test_unknown_objective():
    with pytest.raises(ValueError, match="allowed: rpgan, nsgan"):
        d_loss("wgan", torch.zeros(1), torch.zeros(1))


def test_r1_of_linear_discriminator_is_squared_weight_norm():
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(6, 3, 4, 4, requires_grad=True)
    logits = (x * w).flatten(1).sum(1)
    assert torch.allclose(gradient_sq_norm(logits, x, create_graph=False), torch.full((6,), w.square().sum().item()))


def test_r2_of_quadratic_discriminator_and_its_gradient():
    # D(x) = sum x^2 -> grad = 2x -> ||grad||^2 = 4 ||x||^2, whose gradient w.r.t. x is 8x.
    x = torch.randn(4, 1, 2, 2, requires_grad=True)
    logits = x.square().flatten(1).sum(1)
    sq = gradient_sq_norm(logits, x, create_graph=True)
    assert torch.allclose(sq, 4 * x.detach().square().flatten(1).sum(1))
    (grad,) = torch.autograd.grad(sq.sum(), x)
    assert torch.allclose(grad, 8 * x.detach())


def test_path_length_penalty_zero_for_isometry_at_mean():
    ws = torch.randn(8, 2, 5, requires_grad=True)
    images = ws.sum(1).reshape(8, 1, 1, 5)  # linear map: J^T y has a deterministic expected norm
    penalty, new_mean = path_length_penalty(images, ws, torch.zeros([]), decay=1.0)
    assert penalty.shape == (8,)
    assert new_mean.item() > 0
    assert torch.isfinite(penalty).all()
