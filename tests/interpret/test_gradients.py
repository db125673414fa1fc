"""Integrated Gradients, saliency and gradient × input vs Captum on the same float64 models; completeness."""
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from modelbook.interpret import gradients
from tests.conftest import pinned

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    captum_attr = pinned("captum.attr")


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 7 * 7, 5)).double().eval()


def _mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).double().eval()


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    return torch.rand(5, 1, 14, 14, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64)


def test_quadrature_weights():
    for method in ("gausslegendre", "trapezoid"):
        a, w = gradients.quadrature(9, method)
        assert w.sum() == pytest.approx(1.0) and a.min() >= 0 and a.max() <= 1
    # Gauss-Legendre integrates degree 2m-1 polynomials exactly
    a, w = gradients.quadrature(4)
    assert (w * a ** 7).sum() == pytest.approx(1 / 8, abs=1e-14)
    with pytest.raises(ValueError):
        gradients.quadrature(4, "simpson")


@pytest.mark.parametrize("which", ["cnn", "mlp"])
def test_ig_equals_captum_gausslegendre(data, which):
    model, x = (_cnn(), data[0]) if which == "cnn" else (_mlp(), data[1])
    target = model(x).argmax(1)
    baseline = torch.full_like(x, 0.1)
    ours = gradients.integrated_gradients(model, x, target, baseline=baseline, n_steps=24)
    theirs = captum_attr.IntegratedGradients(model).attribute(x, baselines=baseline, target=target, n_steps=24,
                                                              method="gausslegendre")
    # Captum casts its quadrature weights to float32 (torch.tensor(step_sizes).float()): agreement to ~1e-8 relative
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-9 * float(theirs.abs().max()))


def test_captum_trapezoid_weights_sum_to_m_minus_1_over_m(data):
    model, x = _mlp(), data[1]
    target = torch.zeros(len(x), dtype=torch.long)
    m = 10
    ours = gradients.integrated_gradients(model, x, target, n_steps=m, method="trapezoid")
    theirs = captum_attr.IntegratedGradients(model).attribute(x, target=target, n_steps=m, method="riemann_trapezoid")
    torch.testing.assert_close(theirs, ours * (m - 1) / m, rtol=1e-6, atol=1e-9)


def test_completeness(data):
    mlp, x = _mlp(), data[1]
    t = mlp(x).argmax(1)
    smooth = gradients.completeness_gap(mlp, x, t, gradients.integrated_gradients(mlp, x, t, n_steps=16))
    assert float(smooth.max()) < 1e-6                     # smooth path: Gauss-Legendre converges fast
    cnn, img = _cnn(), data[0]
    t = cnn(img).argmax(1)
    relu = gradients.completeness_gap(cnn, img, t, gradients.integrated_gradients(cnn, img, t, n_steps=128))
    assert float(relu.max()) < 0.01                       # ReLU network: piecewise smooth, within 1% at 128 nodes


def test_saliency_and_gradient_x_input_equal_captum(data):
    model, x = _cnn(), data[0]
    t = model(x).argmax(1)
    torch.testing.assert_close(gradients.saliency(model, x, t), captum_attr.Saliency(model).attribute(x, target=t, abs=True))
    torch.testing.assert_close(gradients.gradient_x_input(model, x, t), captum_attr.InputXGradient(model).attribute(x, target=t))


class _Cubic(nn.Module):
    """Logit 0 = Σ x³, logit 1 = 0: along the straight path from 0 the integrand is 3α²·Σx³, a polynomial."""

    def forward(self, x):
        return torch.stack([(x ** 3).flatten(1).sum(1), torch.zeros(len(x), dtype=x.dtype)], dim=1)


def test_completeness_curve_equals_the_quadrature_error_of_a_cubic():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 5, generator=g, dtype=torch.float64) + 0.5
    target = torch.zeros(3, dtype=torch.long)
    steps = (2, 3, 5, 9)
    # trapezoid on ∫₀¹ 3α² dα with spacing h = 1/(m−1): error h²/12·(g'(1) − g'(0)) = h²/2 exactly (Euler–Maclaurin)
    trap = gradients.completeness_curve(_Cubic(), x, target, steps, "trapezoid")
    np.testing.assert_allclose(trap, [1 / (2 * (m - 1) ** 2) for m in steps], rtol=1e-12)
    gauss = gradients.completeness_curve(_Cubic(), x, target, steps, "gausslegendre")   # exact for degree ≤ 2m − 1
    assert max(gauss) < 1e-13


def test_integrated_gradients_to_tolerance_doubles_the_steps_per_image_until_complete(data):
    model, x = _cnn(), data[0]
    target = model(x).argmax(1)
    tol, start, cap = 0.03, 4, 256
    attributions, gap, used = gradients.integrated_gradients_to_tolerance(model, x, target, start, cap, tol=tol)
    assert (used > start).any() and (used == start).any()         # some images needed more nodes, some did not
    for i in range(len(x)):                                      # each image: plain IG with the nodes it was given
        m = int(used[i])
        alone = gradients.integrated_gradients(model, x[i:i + 1], target[i:i + 1], n_steps=m)
        torch.testing.assert_close(attributions[i:i + 1], alone, rtol=1e-10, atol=1e-12)
        assert gap[i] == pytest.approx(float(gradients.completeness_gap(model, x[i:i + 1], target[i:i + 1], alone)[0]), rel=1e-8)
        assert gap[i] <= tol or m == cap
        if m > start:                                            # and half as many nodes were not enough
            half = gradients.integrated_gradients(model, x[i:i + 1], target[i:i + 1], n_steps=m // 2)
            assert float(gradients.completeness_gap(model, x[i:i + 1], target[i:i + 1], half)[0]) > tol
