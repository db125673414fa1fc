"""Integrated Gradients, saliency and gradient × input vs Captum on the same float64 models; completeness."""
import warnings

import pytest
import torch
from torch import nn

from modelbook.interpret import gradients

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    captum_attr = pytest.importorskip("captum.attr")


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
