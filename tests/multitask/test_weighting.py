"""Uncertainty weighting's optimum σ² = L (analytic and by gradient descent), GradNorm's weight-sum constraint and its
targets, parameter counts of the architectures, and the MultiMNIST construction."""
import numpy as np
import pytest
import torch

from modelbook.multitask import data, nets
from modelbook.multitask.weighting import GradNorm, UncertaintyWeighting, uncertainty_optimum


def test_uncertainty_optimum_is_the_loss():
    losses = torch.tensor([0.3, 7.0, 250.0], dtype=torch.float64)
    uw = UncertaintyWeighting(3).double()
    s_star = uncertainty_optimum(losses)
    assert torch.allclose(s_star, torch.log(losses))
    for shift, sign in ((0.0, 0), (0.5, 1), (-0.5, -1)):                # gradient zero at s*, positive above, negative below
        with torch.no_grad():
            uw.log_var.copy_(s_star + shift)
        (g,) = torch.autograd.grad(uw(losses), uw.log_var)
        assert torch.all(torch.sign(g.round(decimals=12)) == sign)
    with torch.no_grad():
        uw.log_var.copy_(s_star)
    assert torch.allclose(uw.weights(), 0.5 / losses)                   # effective weight ½/σ² = ½/L


def test_gradnorm_keeps_the_weight_sum_and_equalises_gradient_norms():
    torch.manual_seed(0)
    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(16, 3)
    gn = GradNorm(2, alpha=1.0, lr=0.05)
    for _ in range(40):
        h = x @ w.T
        losses = torch.stack([10 * h.pow(2).mean(), h.pow(2).mean()])   # same training rate, 10× the gradient norm
        gn.weighted_loss(losses, w)
        assert abs(float(gn.w.sum()) - 2.0) < 1e-5 and bool((gn.w > 0).all())
    assert float(gn.w[1] / gn.w[0]) > 3                                 # moving towards the 10:1 that equalises them


def test_parameter_counts():
    d, h = 324, 64
    hard = nets.HardSharing(d, (h, h), (10, 10))
    sep = nets.Separate(d, (h, h), (10, 10))
    cross = nets.CrossStitch(d, (h, h), (10, 10))
    trunk = d * h + h + h * h + h
    assert nets.n_params(hard) == trunk + 2 * (h * 10 + 10)
    assert nets.n_params(sep) == 2 * trunk + 2 * (h * 10 + 10)
    assert nets.n_params(cross) == nets.n_params(sep) + 2 * 4          # one 2×2 α per hidden layer
    w = nets.width_for_budget(nets.n_params(hard), lambda k: nets.Separate(d, (k, k), (10, 10)))
    assert nets.n_params(nets.Separate(d, (w, w), (10, 10))) <= nets.n_params(hard) < nets.n_params(
        nets.Separate(d, (w + 1, w + 1), (10, 10)))


def test_cross_stitch_at_identity_is_separate_and_l2_coupling():
    torch.manual_seed(0)
    cross = nets.CrossStitch(20, (8, 8), (3, 3), keep=1.0)
    sep = nets.Separate(20, (8, 8), (3, 3))
    sep.load_state_dict({k: v for k, v in cross.state_dict().items() if not k.startswith("alphas")})
    x = torch.randn(5, 20)
    for a, b in zip(cross(x), sep(x)):
        assert torch.allclose(a, b)
    assert float(nets.l2_coupling(sep)) > 0
    sep.towers[1].load_state_dict(sep.towers[0].state_dict())
    assert float(nets.l2_coupling(sep)) == 0.0


def test_multi_mnist_places_left_top_and_right_bottom():
    digits = np.zeros((2, 28, 28), np.uint8)
    digits[0, :, :] = 255
    digits[1, :, :] = 128
    x, y = data.multi_mnist(digits, np.array([3, 7]), 50, np.random.default_rng(0))
    assert x.shape == (50, 1, 36, 36) and y.shape == (50, 2)
    assert (x[:, 0, 8:28, 8:28] > 0).all()                               # both digits always cover the middle
    shade = {3: 1.0, 7: 128 / 255}
    for k in range(50):                                                  # (3, 3): only L can reach it; (32, 32): only R
        if x[k, 0, 3, 3] > 0:
            assert abs(x[k, 0, 3, 3] - shade[int(y[k, 0])]) < 1e-6
        if x[k, 0, 32, 32] > 0:
            assert abs(x[k, 0, 32, 32] - shade[int(y[k, 1])]) < 1e-6
    pooled, _ = data.multi_mnist(digits, np.array([3, 7]), 5, np.random.default_rng(0), pool=2)
    assert pooled.shape == (5, 1, 18, 18)
    with pytest.raises(ValueError):
        data.split_sources(10, 10, np.random.default_rng(0))
