"""FGSM against the hand-derived gradient of softmax regression; PGD's projection; adversarial training loss."""
import numpy as np
import pytest
import torch

from modelbook.adversarial import adversarial_loss, fgsm, pgd, robust_accuracy


@pytest.fixture
def softmax_regression():
    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(20, 4).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(4, 20, generator=g, dtype=torch.float64))
        lin.bias.copy_(torch.randn(4, generator=g, dtype=torch.float64))
    x = torch.rand(32, 20, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (32,), generator=g)
    return lin, x, y


def test_fgsm_equals_hand_computation(softmax_regression):
    lin, x, y = softmax_regression
    W, b, xn, yn = lin.weight.detach().numpy(), lin.bias.detach().numpy(), x.numpy(), y.numpy()
    z = xn @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(yn)), yn] -= 1  # ∂L/∂z = softmax − one-hot;  ∂L/∂x = Wᵀ(softmax − one-hot)
    expected = np.clip(xn + 0.1 * np.sign(p @ W), 0, 1)
    np.testing.assert_array_equal(fgsm(lin, x, y, 0.1).numpy(), expected)
    assert lin.weight.grad is None  # the attack leaves parameter gradients alone


def test_pgd_stays_in_the_ball_and_pixel_range(softmax_regression):
    lin, x, y = softmax_regression
    for eps in (0.01, 0.1, 0.3):
        xa = pgd(lin, x, y, eps, steps=15, generator=torch.Generator().manual_seed(1))
        assert float((xa - x).abs().max()) <= eps + 1e-12
        assert float(xa.min()) >= 0 and float(xa.max()) <= 1


def test_one_step_pgd_without_random_start_is_fgsm(softmax_regression):
    lin, x, y = softmax_regression
    torch.testing.assert_close(pgd(lin, x, y, 0.05, alpha=0.05, steps=1, random_start=False), fgsm(lin, x, y, 0.05))


def test_attacks_lower_accuracy_and_pgd_is_stronger(softmax_regression):
    lin, x, y = softmax_regression
    y = lin(x).argmax(1)  # labels the model gets right: clean accuracy 1
    clean = robust_accuracy(lin, x, y, None)
    f = robust_accuracy(lin, x, y, lambda m, a, b: fgsm(m, a, b, 0.1))
    p = robust_accuracy(lin, x, y, lambda m, a, b: pgd(m, a, b, 0.1, steps=20, generator=torch.Generator().manual_seed(0)))
    assert clean == 1.0 and p <= f < clean


def test_adversarial_loss_trains_on_attacked_inputs(softmax_regression):
    lin, x, y = softmax_regression
    for method in ("pgd", "fgsm-rs"):
        loss = adversarial_loss(0.1, method, steps=3, generator=torch.Generator().manual_seed(0))(lin, (x, y))
        clean = torch.nn.functional.cross_entropy(lin(x), y)
        assert loss.item() > clean.item()  # the worst case in the ball costs more than the clean input
        loss.backward()
        assert lin.weight.grad is not None
        lin.zero_grad()
    with pytest.raises(ValueError):
        adversarial_loss(0.1, "nope")


def test_softmax_regression_fgsm_equals_autograd_fgsm(softmax_regression):
    from modelbook.adversarial import softmax_regression_fgsm

    lin, x, y = softmax_regression
    for eps in (0.02, 0.1):
        closed = softmax_regression_fgsm(lin.weight.detach().numpy(), lin.bias.detach().numpy(), x.numpy(), y.numpy(), eps)
        np.testing.assert_array_equal(closed, fgsm(lin, x, y, eps).numpy())


def test_ball_excess_against_hand_cases():
    from modelbook.adversarial import ball_excess

    x = torch.full((2, 3), 0.5, dtype=torch.float64)
    inside = x + torch.tensor([[0.1, -0.1, 0.0], [0.05, 0.0, -0.02]], dtype=torch.float64)
    assert ball_excess(inside, x, 0.1) == pytest.approx(0.0, abs=1e-15)
    assert ball_excess(inside, x, 0.2) == pytest.approx(-0.1)
    outside = inside.clone()
    outside[1, 2] = 0.5 + 0.13
    assert ball_excess(outside, x, 0.1) == pytest.approx(0.03)
    edge = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    assert ball_excess(edge - 0.02, edge, 0.5) == pytest.approx(0.02)  # below 0
    assert ball_excess(edge + 0.04, edge, 0.5) == pytest.approx(0.04)  # above 1
