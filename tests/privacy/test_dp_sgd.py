"""DP-SGD vs Opacus 1.6 on the same model and batch: per-sample gradients, the clipped average, the update with
the same noise generator; and the noise's standard deviation tested statistically."""
import copy
import math
import warnings

import pytest
import torch
from torch import nn

from modelbook.privacy import dp_sgd
from tests.conftest import pinned

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    opacus = pinned("opacus")
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer


def _models():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 4)).double()
    cnn = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4)).double()
    g = torch.Generator().manual_seed(1)
    return [(mlp, torch.randn(20, 12, generator=g, dtype=torch.float64)),
            (cnn, torch.randn(20, 1, 8, 8, generator=g, dtype=torch.float64))]


@pytest.mark.parametrize("i", [0, 1], ids=["mlp", "cnn"])
def test_per_sample_grads_equal_opacus_grad_sample(i):
    model, x = _models()[i]
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(2))
    gsm = GradSampleModule(copy.deepcopy(model))
    nn.functional.cross_entropy(gsm(x), y).backward()  # loss_reduction="mean": Opacus rescales grad_sample by B
    ours = dp_sgd.per_sample_grads(model, nn.functional.cross_entropy, x, y)
    for name, p in gsm._module.named_parameters():
        torch.testing.assert_close(ours[name], p.grad_sample, rtol=1e-10, atol=1e-12)


def test_clipping_bounds_each_example():
    model, x = _models()[0]
    y = torch.zeros(len(x), dtype=torch.long)
    grads = dp_sgd.per_sample_grads(model, nn.functional.cross_entropy, x, y)
    clipped, norms = dp_sgd.clip_per_sample(grads, 0.1)
    new = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in clipped.values()))
    assert torch.all(new <= 0.1 + 1e-12)
    small = norms <= 0.1
    torch.testing.assert_close(new[small], norms[small])   # examples already inside the ball are untouched
    torch.testing.assert_close(new[~small], torch.full_like(new[~small], 0.1))


@pytest.mark.parametrize("sigma", [0.0, 0.8], ids=["no-noise", "same-noise"])
@pytest.mark.parametrize("i", [0, 1], ids=["mlp", "cnn"])
def test_update_equals_opacus_dpoptimizer(i, sigma):
    model, x = _models()[i]
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(3))
    theirs = GradSampleModule(copy.deepcopy(model))
    opt = DPOptimizer(torch.optim.SGD(theirs.parameters(), lr=0.3, momentum=0.9), noise_multiplier=sigma, max_grad_norm=0.5,
                      expected_batch_size=25, generator=torch.Generator().manual_seed(7))
    mine = copy.deepcopy(model)
    my_opt = torch.optim.SGD(mine.parameters(), lr=0.3, momentum=0.9)
    my_gen = torch.Generator().manual_seed(7)
    for _ in range(2):  # two steps, so momentum buffers are compared too
        opt.zero_grad()
        nn.functional.cross_entropy(theirs(x), y).backward()
        opt.step()
        dp_sgd.dp_sgd_step(mine, my_opt, nn.functional.cross_entropy, x, y, sigma, 0.5, 25, my_gen, stabilizer=1e-6)
    for a, b in zip(mine.parameters(), theirs._module.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_without_opacus_stabilizer_the_update_differs_by_about_1e6_relative():
    model, x = _models()[0]
    y = torch.zeros(len(x), dtype=torch.long)
    grads = dp_sgd.per_sample_grads(model, nn.functional.cross_entropy, x, y)
    a, norms = dp_sgd.clip_per_sample(grads, 0.01)
    b, _ = dp_sgd.clip_per_sample(grads, 0.01, stabilizer=1e-6)
    rel = max(float(((a[k] - b[k]).abs() / b[k].abs().clamp(min=1e-300)).max()) for k in a)
    assert 0 < rel <= 1.01e-6 / float(norms.min())


def test_noise_std_is_sigma_c_over_batch():
    # the noise of one step is N(0, (σC)²)/B per coordinate: test the sample std against its 99.9% interval
    sigma, c, b = 1.3, 2.0, 40.0
    zeros = {"w": torch.zeros(1, 200_000, dtype=torch.float64)}
    noisy = dp_sgd.noisy_average(zeros, sigma, c, b, torch.Generator().manual_seed(0))["w"]
    z = noisy * b / (sigma * c)
    n = z.numel()
    assert abs(float(z.mean())) < 3.3 / math.sqrt(n)
    assert abs(float(z.std()) - 1.0) < 3.3 * math.sqrt(1 / (2 * n))


def test_noise_equals_opacus_generate_noise_with_the_same_generator():
    from opacus.optimizers.optimizer import _generate_noise

    ref = torch.zeros(50_000, dtype=torch.float64)
    theirs = _generate_noise(std=2.6, reference=ref, generator=torch.Generator().manual_seed(5))
    ours = dp_sgd.noisy_average({"p": ref[None]}, 1.3, 2.0, 1.0, torch.Generator().manual_seed(5))["p"]
    torch.testing.assert_close(ours, theirs)


def test_poisson_lots_and_empty_lot():
    gen = torch.Generator().manual_seed(0)
    sizes = [len(idx) for idx in dp_sgd.poisson_lots(1000, 0.05, 400, gen)]
    assert abs(sum(sizes) / len(sizes) - 50) < 3 * math.sqrt(1000 * 0.05 * 0.95 / 400) + 0.5
    model = nn.Linear(3, 2)
    before = [p.detach().clone() for p in model.parameters()]
    dp_sgd.dp_sgd_step(model, torch.optim.SGD(model.parameters(), lr=1.0), nn.functional.cross_entropy,
                       torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 1.0, 1.0, 10.0, gen)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # noise only, still a step


def test_train_learns_without_noise():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 5, generator=gen)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    model = nn.Linear(5, 2)
    dp_sgd.train(model, x, y, q=0.1, n_steps=200, noise_multiplier=0.0, max_norm=float("inf"), lr=0.5, generator=gen)
    assert float((model(x).argmax(1) == y).float().mean()) > 0.95


def _tiny_problem():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(200, 4, generator=gen, dtype=torch.float64)
    y = (x[:, 0] + x[:, 1] > 0).long()
    torch.manual_seed(3)
    return nn.Linear(4, 2).double(), x, y


def test_train_at_epsilon_inf_is_momentum_sgd_on_the_same_poisson_lots():
    model, x, y = _tiny_problem()
    reference = copy.deepcopy(model)
    q, steps, lr, momentum = 0.1, 30, 0.3, 0.9
    sigma = dp_sgd.train_at_epsilon(model, x, y, float("inf"), q=q, n_steps=steps, delta=1e-5, max_norm=1.0, lr=lr,
                                    momentum=momentum, generator=torch.Generator().manual_seed(11))
    assert sigma == 0.0
    # by hand: the summed batch loss over the expected lot size qN, no clipping, no noise, torch's SGD with momentum
    opt = torch.optim.SGD(reference.parameters(), lr=lr, momentum=momentum)
    for idx in dp_sgd.poisson_lots(len(x), q, steps, torch.Generator().manual_seed(11)):
        opt.zero_grad()
        (nn.functional.cross_entropy(reference(x[idx]), y[idx], reduction="sum") / (q * len(x))).backward()
        opt.step()
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_train_at_epsilon_uses_the_smallest_sigma_that_meets_epsilon():
    from modelbook.privacy import accountant

    model, x, y = _tiny_problem()
    reference = copy.deepcopy(model)
    q, steps, delta, eps = 0.1, 30, 1e-5, 2.0
    sigma = dp_sgd.train_at_epsilon(model, x, y, eps, q=q, n_steps=steps, delta=delta, max_norm=0.5, lr=0.3,
                                    generator=torch.Generator().manual_seed(5))
    assert accountant.epsilon(sigma, q, steps, delta) <= eps < accountant.epsilon(sigma * (1 - 2e-4), q, steps, delta)
    dp_sgd.train(reference, x, y, q=q, n_steps=steps, noise_multiplier=sigma, max_norm=0.5, lr=0.3,
                 generator=torch.Generator().manual_seed(5))
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.equal(a, b)
