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


@pytest.mark.parametrize("t", [-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0])
def test_softplus_identities(t):
    # softplus(-t) - softplus(t) = -t: D's and G's RpGAN losses of one pair differ by minus the logit gap
    # t, and the classic D loss minus G's non-saturating loss is softplus(-D(x_r)) + D(x_f).
    r, f = torch.tensor([t + 1.0]), torch.tensor([1.0])
    assert (d_loss("rpgan", r, f) - g_loss("rpgan", f, r)).item() == pytest.approx(-t, abs=1e-5)
    ns = d_loss("nsgan", r, f) - g_loss("nsgan", f)
    assert ns.item() == pytest.approx(math.log1p(math.exp(-(t + 1.0))) + 1.0, rel=1e-5)


def test_losses_are_stable_at_large_logit_gaps():
    # softplus(x) -> x and softplus(-x) -> exp(-x), without overflow or cancellation to 0
    big = torch.tensor([20.0])
    assert d_loss("rpgan", -big, big).item() == pytest.approx(40.0)
    assert d_loss("rpgan", big, -big).item() == pytest.approx(math.exp(-40.0), rel=1e-4)
    assert g_loss("nsgan", torch.tensor([-200.0])).item() == pytest.approx(200.0)
    assert d_loss("nsgan", torch.tensor([200.0]), torch.tensor([-200.0])).item() == 0.0


def test_r1_of_general_quadratic_discriminator_and_its_gradient_to_the_weights():
    # D(x) = x^T A x + b^T x on flattened x: grad_x D = (A + A^T) x + b. The penalty must reach A and b
    # (create_graph=True): d/dA ||g||^2 = 2 (g x^T + x g^T), d/db ||g||^2 = 2 g, summed over samples.
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(8, 8, generator=gen, dtype=torch.float64).requires_grad_(True)
    b = torch.randn(8, generator=gen, dtype=torch.float64).requires_grad_(True)
    x = torch.randn(5, 2, 2, 2, generator=gen, dtype=torch.float64).requires_grad_(True)
    flat = x.flatten(1)
    logits = ((flat @ A) * flat).sum(1) + flat @ b
    sq = gradient_sq_norm(logits, x, create_graph=True)
    g = flat.detach() @ (A + A.T).detach() + b.detach()  # [5, 8] analytic gradients
    assert torch.allclose(sq.double(), g.square().sum(1), rtol=1e-6)
    grad_A, grad_b = torch.autograd.grad(sq.sum(), (A, b))
    xs = flat.detach()
    want_A = 2 * (xs.T @ g + g.T @ xs)  # sum_n 2 (x_n g_n^T + g_n x_n^T)
    assert torch.allclose(grad_b, 2 * g.sum(0), rtol=1e-5)
    assert torch.allclose(grad_A, want_A, rtol=1e-5)


def test_path_length_penalty_equals_hand_computation_for_a_linear_generator():
    # images[n, 0, 0, j] = sum_k ws[n, k, j]: J^T y = y for every k, so the length is ||y_n|| with
    # y = noise / sqrt(H*W), the same noise torch.randn_like draws after the same seed.
    ws = torch.randn(8, 2, 5, requires_grad=True)
    images = ws.sum(1).reshape(8, 1, 1, 5)
    pl_mean, decay = torch.tensor(0.3), 0.25
    torch.manual_seed(7)
    penalty, new_mean = path_length_penalty(images, ws, pl_mean, decay=decay)
    torch.manual_seed(7)
    y = torch.randn(8, 1, 1, 5) / math.sqrt(5)
    lengths = y.flatten(1).norm(dim=1)
    want_mean = 0.3 + decay * (lengths.mean() - 0.3)
    assert new_mean.item() == pytest.approx(want_mean.item(), rel=1e-6)
    assert torch.allclose(penalty, (lengths - want_mean).square(), rtol=1e-5, atol=1e-7)
    # lengths scale with the generator: images * 3 -> lengths * 3 (pl_mean = 0, decay = 1: mean = mean length)
    torch.manual_seed(7)
    p3, m3 = path_length_penalty(3 * images, ws, torch.zeros([]), decay=1.0)
    assert m3.item() == pytest.approx(3 * lengths.mean().item(), rel=1e-6)
    assert torch.allclose(p3, 9 * (lengths - lengths.mean()).square(), rtol=1e-4, atol=1e-6)


def test_path_length_penalty_is_differentiable_to_the_generator():
    # images[n, 0, 0, j] = sum_k ws[n, k, j]^2: J^T y = 2 ws y, so the penalty depends on ws and its
    # gradient must match autograd through the hand-written formula with the same noise.
    ws = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    images = ws.square().sum(1).reshape(4, 1, 1, 5)
    torch.manual_seed(11)
    penalty, new_mean = path_length_penalty(images, ws, torch.tensor(0.5, dtype=torch.float64), decay=0.1)
    (got,) = torch.autograd.grad(penalty.sum(), ws)
    torch.manual_seed(11)
    y = torch.randn(4, 1, 1, 5, dtype=torch.float64) / math.sqrt(5)
    lengths = (2 * ws * y.reshape(4, 1, 5)).square().sum(2).mean(1).sqrt()
    mean = 0.5 + 0.1 * (lengths.mean().detach() - 0.5)
    want = (lengths - mean).square()
    assert torch.allclose(penalty, want) and new_mean.item() == pytest.approx(mean.item())
    (ref,) = torch.autograd.grad(want.sum(), ws)
    assert torch.allclose(got, ref) and got.abs().sum() > 0
