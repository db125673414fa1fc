"""Distillation loss vs its definition with F.kl_div, and its gradient vs the closed form."""
import pytest
import torch
import torch.nn.functional as F

from modelbook.compression.distill import UNLABELLED, kd_loss, soft_target_loss


@pytest.mark.parametrize("T", [1.0, 4.0, 20.0])
def test_soft_loss_and_gradient(T):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 10, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(16, 10, generator=g, dtype=torch.float64) * 2
    ref = F.kl_div(F.log_softmax(z / T, -1), F.log_softmax(v / T, -1), log_target=True, reduction="batchmean")
    ours = soft_target_loss(z, v, T)
    torch.testing.assert_close(ours, ref)
    (gz,) = torch.autograd.grad(ours, z)
    torch.testing.assert_close(gz, (F.softmax(z / T, -1) - F.softmax(v / T, -1)).detach() / T / 16)


def test_kd_loss_mixes_soft_and_hard_terms():
    g = torch.Generator().manual_seed(1)
    z, v = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    y = torch.randint(0, 5, (8,), generator=g)
    torch.testing.assert_close(kd_loss(z, v, y, T=3.0, alpha=0.0), F.cross_entropy(z, y))
    torch.testing.assert_close(kd_loss(z, v, y, T=3.0, alpha=1.0), 9.0 * soft_target_loss(z, v, 3.0))
    assert float(soft_target_loss(v, v, 2.0)) == pytest.approx(0.0, abs=1e-7)


def test_kd_loss_unlabelled_images_count_in_the_soft_term_only():
    g = torch.Generator().manual_seed(2)
    z, v = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    y = torch.randint(0, 5, (8,), generator=g)
    y[[1, 4, 5]] = UNLABELLED
    keep = y != UNLABELLED
    ce = F.cross_entropy(z[keep], y[keep], reduction="sum") / len(y)  # every image weighs 1/8, labelled or not
    expected = 0.3 * 4.0 * soft_target_loss(z, v, 2.0) + 0.7 * ce
    torch.testing.assert_close(kd_loss(z, v, y, T=2.0, alpha=0.3), expected)
    none = torch.full_like(y, UNLABELLED)  # a batch with no label at all: the soft term alone, finite
    torch.testing.assert_close(kd_loss(z, v, none, T=2.0, alpha=0.3), 0.3 * 4.0 * soft_target_loss(z, v, 2.0))
