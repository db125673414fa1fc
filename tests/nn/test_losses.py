"""Focal loss and the penalties, against cross-entropy, kornia's focal losses and SGD weight decay."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from modelbook.nn.losses import FocalLoss, binary_focal_loss, focal_loss, l1_penalty, l2_penalty, weight_norm
from tests.conftest import pinned


def _data(n=64, c=5):
    g = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(n, c, generator=g, dtype=torch.float64)).requires_grad_()
    return logits, torch.randint(0, c, (n,), generator=g)


def _grad(loss, x):
    return torch.autograd.grad(loss, x)[0]


def test_focal_with_gamma_zero_is_cross_entropy():
    logits, y = _data()
    ours, ref = focal_loss(logits, y, gamma=0.0), F.cross_entropy(logits, y)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=0)
    torch.testing.assert_close(_grad(ours, logits), _grad(ref, logits), rtol=1e-12, atol=1e-15)
    w = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.1], dtype=torch.float64)
    # with per-class alpha and γ = 0 it is weighted cross-entropy summed over examples
    torch.testing.assert_close(focal_loss(logits, y, 0.0, w, reduction="sum"),
                               F.cross_entropy(logits, y, weight=w, reduction="sum"), rtol=1e-12, atol=0)


@pytest.mark.parametrize("gamma,alpha", [(2.0, 0.25), (0.5, 0.75), (3.0, None)])
def test_binary_focal_equals_kornia(gamma, alpha):
    """kornia 0.9's binary_focal_loss_with_logits (Lin et al. 2017, α for positives, 1 − α for negatives)."""
    losses = pinned("kornia.losses")
    g = torch.Generator().manual_seed(1)
    x = (4 * torch.randn(200, generator=g, dtype=torch.float64)).requires_grad_()
    y = (torch.rand(200, generator=g) < 0.1).double()
    ours = binary_focal_loss(x, y, gamma, alpha)
    ref = losses.binary_focal_loss_with_logits(x[:, None], y[:, None], alpha=alpha, gamma=gamma, reduction="mean")  # (N, 1)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=0)
    torch.testing.assert_close(_grad(ours, x), _grad(ref, x), rtol=1e-8, atol=1e-15)


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
def test_multiclass_focal_equals_kornia_with_class_weights(gamma):
    """kornia 0.9's softmax focal_loss with alpha=None and per-class `weight`: its (N, C) map is zero off the target
    class, so its sum is Σ_n w[y_n]·(1 − p_t)^γ·(−log p_t), ours with alpha = w and reduction="sum"."""
    losses = pinned("kornia.losses")
    logits, y = _data()
    w = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.1], dtype=torch.float64)
    ours = focal_loss(logits, y, gamma, w, reduction="sum")
    ref = losses.focal_loss(logits, y, alpha=None, gamma=gamma, reduction="sum", weight=w)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=0)
    torch.testing.assert_close(_grad(ours, logits), _grad(ref, logits), rtol=1e-8, atol=1e-15)
    plain = losses.focal_loss(logits, y, alpha=None, gamma=gamma, reduction="none").sum(1)  # per example, no weights
    torch.testing.assert_close(focal_loss(logits, y, gamma, reduction="none"), plain, rtol=1e-10, atol=0)


def test_two_class_softmax_focal_equals_sigmoid_focal_on_the_logit_difference():
    logits, _ = _data(c=2)
    y = (torch.arange(64) % 3 == 0).long()
    soft = focal_loss(logits, y, gamma=2.0, alpha=torch.tensor([0.75, 0.25], dtype=torch.float64))
    sig = binary_focal_loss(logits[:, 1] - logits[:, 0], y, gamma=2.0, alpha=0.25)
    torch.testing.assert_close(soft, sig, rtol=1e-12, atol=0)


def test_focal_down_weights_easy_examples():
    x = torch.tensor([[4.0, 0.0], [0.2, 0.0]], dtype=torch.float64)   # easy (p_t ≈ 0.98) and hard (p_t ≈ 0.55)
    y = torch.tensor([0, 0])
    ce, fl = F.cross_entropy(x, y, reduction="none"), focal_loss(x, y, 2.0, reduction="none")
    assert fl[0] / ce[0] < 1e-3 and fl[1] / ce[1] > 0.15          # factor (1 − p_t)²
    assert FocalLoss(2.0)(x, y) == pytest.approx(float(fl.mean()))
    with pytest.raises(ValueError, match="reduction"):
        focal_loss(x, y, reduction="max")


def test_l2_penalty_with_sgd_equals_weight_decay_and_l1_is_abs_sum():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    b = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(16, 6, dtype=torch.float64), torch.randint(0, 2, (16,))
    lam = 0.1
    opt_a = torch.optim.SGD([{"params": [a[0].weight, a[2].weight], "weight_decay": lam},
                             {"params": [a[0].bias, a[2].bias]}], lr=0.05)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.05)
    for _ in range(5):
        opt_a.zero_grad()
        F.cross_entropy(a(x), y).backward()
        opt_a.step()
        opt_b.zero_grad()
        (F.cross_entropy(b(x), y) + lam * l2_penalty(b)).backward()
        opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-14)
    assert float(l1_penalty(a)) == pytest.approx(float(a[0].weight.abs().sum() + a[2].weight.abs().sum()))


def test_weight_norm_is_the_norm_of_the_weight_matrices_only():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.ReLU(), nn.LayerNorm(4), nn.Linear(4, 2)).double()
    with torch.no_grad():
        flat = torch.cat([model[1].weight.flatten(), model[4].weight.flatten()])  # no biases, no LayerNorm scale
        assert weight_norm(model) == pytest.approx(float(torch.linalg.vector_norm(flat)), rel=1e-12)
        assert weight_norm(model) == pytest.approx(float(torch.sqrt(2 * l2_penalty(model))), rel=1e-12)
