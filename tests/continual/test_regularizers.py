"""EWC's Fisher (vmap = loop), the EWC penalty and LwF's distillation loss against their formulas."""
import pytest
import torch
import torch.nn.functional as F

from modelbook.continual.benchmark import mlp
from modelbook.continual.regularizers import distillation_loss, ewc_penalty, fisher_diagonal, fisher_diagonal_loop


@pytest.mark.parametrize("active", [None, torch.tensor([2, 3]), torch.arange(6)])
def test_fisher_vmap_equals_loop(active):
    torch.manual_seed(0)
    model, x = mlp(8, n_in=12), torch.randn(7, 12)
    a, b = fisher_diagonal(model, x, active), fisher_diagonal_loop(model, x, active)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-9)


def test_bite_empirical_fisher_is_a_different_quantity():
    torch.manual_seed(1)
    model, x = mlp(8, n_in=12), torch.randn(16, 12)
    y = torch.randint(0, 10, (16,))
    emp = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    for xi, yi in zip(x, y):
        g = torch.autograd.grad(F.log_softmax(model(xi[None]), -1)[0, yi], list(model.parameters()))
        for (k, _), gi in zip(model.named_parameters(), g):
            emp[k] += gi**2 / len(x)
    fisher = fisher_diagonal(model, x)
    assert max(float((emp[k] - fisher[k]).abs().max()) for k in emp) > 1e-4


def test_ewc_penalty_formula():
    torch.manual_seed(2)
    model = mlp(4, n_in=3)
    theta = {k: v.detach().clone() for k, v in model.named_parameters()}
    fisher = {k: torch.rand_like(v) for k, v in theta.items()}
    assert float(ewc_penalty(model, [(fisher, theta)])) == 0.0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    manual = sum(0.5 * (fisher[k] * 0.01).sum() for k in theta)
    assert float(ewc_penalty(model, [(fisher, theta), (fisher, theta)])) == pytest.approx(2 * float(manual), rel=1e-5)


def test_distillation_is_t_squared_kl_old_to_new():
    torch.manual_seed(3)
    new, old = torch.randn(5, 4), torch.randn(5, 4)
    t = 2.0
    p_old, logp_new = F.softmax(old / t, -1), F.log_softmax(new / t, -1)
    manual = (p_old * (p_old.log() - logp_new)).sum(-1).mean() * t * t
    assert float(distillation_loss(new, old, t)) == pytest.approx(float(manual), rel=1e-5)
    assert float(distillation_loss(old, old, t)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(old, new, t)) != pytest.approx(float(manual), rel=1e-3)  # KL is not symmetric
