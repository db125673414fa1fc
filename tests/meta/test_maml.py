"""MAML, first-order MAML, Reptile and the Adam step, cross-checked against torch.autograd, torch.nn and torch.optim."""
import pytest
import torch

from modelbook.meta import maml
from modelbook.meta import sinusoid as sine

LOSS = maml.mse(maml.mlp_forward)


def _setup(seed=0, tasks=4, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    params = maml.mlp_init((1, 40, 40, 1), gen, dtype)
    tb = sine.sample_tasks(tasks, 10, 10, gen, dtype)
    return params, (tb.x_support, tb.y_support, tb.x_query, tb.y_query)


def _flat(g, keys):
    return torch.cat([g[k].flatten() for k in keys])


@pytest.mark.parametrize("steps", [1, 3])
def test_second_order_equals_autograd_create_graph(steps):
    params, args = _setup()
    ours, _ = maml.maml_meta_gradient(LOSS, params, *args, 0.01, steps, order=2)
    ref = maml.maml_meta_gradient_autograd(LOSS, params, *args, 0.01, steps)
    torch.testing.assert_close(_flat(ours, params), _flat(ref, params), rtol=1e-10, atol=1e-12)


def test_first_order_differs_by_the_hessian_term():
    params, args = _setup(1)
    so, _ = maml.maml_meta_gradient(LOSS, params, *args, 0.01, 1, order=2)
    fo, _ = maml.maml_meta_gradient(LOSS, params, *args, 0.01, 1, order=1)
    h = maml.hessian_term(LOSS, params, *args, 0.01)
    diff = _flat(so, params) - _flat(fo, params)
    assert diff.norm() > 1e-3 * _flat(so, params).norm()  # the Hessian term is not negligible here
    torch.testing.assert_close(diff, _flat(h, params), rtol=1e-9, atol=1e-12)


def test_bite_detached_inner_gradient_is_caught():
    """The classic silent bug: the inner gradient taken without create_graph (here: detached) is first order."""
    params, args = _setup(2)
    ref = _flat(maml.maml_meta_gradient_autograd(LOSS, params, *args, 0.01, 1), params)
    broken, _ = maml.maml_meta_gradient(LOSS, params, *args, 0.01, 1, order=1)
    assert (_flat(broken, params) - ref).abs().max() > 1e-4 * ref.abs().max()


def test_mlp_forward_equals_nn_linear_stack():
    gen = torch.Generator().manual_seed(3)
    params = maml.mlp_init((1, 40, 40, 1), gen)
    net = torch.nn.Sequential(torch.nn.Linear(1, 40), torch.nn.ReLU(), torch.nn.Linear(40, 40), torch.nn.ReLU(),
                              torch.nn.Linear(40, 1))
    with torch.no_grad():
        for i, j in enumerate((0, 2, 4)):
            net[j].weight.copy_(params[f"w{i}"])
            net[j].bias.copy_(params[f"b{i}"])
    x = torch.linspace(-5, 5, 33)[:, None]
    torch.testing.assert_close(maml.mlp_forward(params, x), net(x))


def test_reptile_one_step_is_the_task_gradient():
    params, (xs, ys, _, _) = _setup(4)
    d = maml.reptile_direction(LOSS, params, xs, ys, 0.01, 1)
    expected = {k: torch.stack([0.01 * torch.func.grad(LOSS)(params, xs[t], ys[t])[k] for t in range(len(xs))]).mean(0)
                for k in params}
    torch.testing.assert_close(_flat(d, params), _flat(expected, params))


def test_adam_step_equals_torch_optim_adam():
    gen = torch.Generator().manual_seed(5)
    params = maml.mlp_init((1, 8, 1), gen)
    leaves = [p.clone().requires_grad_(True) for p in params.values()]
    opt = torch.optim.Adam(leaves, lr=1e-2)
    state = {}
    for _ in range(3):
        g = {k: torch.randn(v.shape, generator=gen) for k, v in params.items()}
        params = maml.adam_step(params, g, state, 1e-2)
        for leaf, k in zip(leaves, g):
            leaf.grad = g[k]
        opt.step()
    torch.testing.assert_close(_flat(params, params), torch.cat([p.detach().flatten() for p in leaves]))


def test_finetune_curve_starts_at_the_unadapted_loss_and_is_batched_correctly():
    params, args = _setup(6, dtype=torch.float32)
    curve = maml.finetune_curve(LOSS, params, *args, 0.01, 2)
    assert curve.shape == (3, 4)
    for t in range(4):
        assert curve[0, t] == pytest.approx(LOSS(params, args[2][t], args[3][t]).item(), rel=1e-5)
        p1 = maml.adapt(LOSS, params, args[0][t], args[1][t], 0.01, 1)
        assert curve[1, t] == pytest.approx(LOSS(p1, args[2][t], args[3][t]).item(), rel=1e-5)


def test_sinusoid_tasks_follow_finn_ranges():
    tb = sine.sample_tasks(500, 10, 7, torch.Generator().manual_seed(0))
    assert 0.1 <= tb.amplitude.min() and tb.amplitude.max() <= 5
    assert 0 <= tb.phase.min() and tb.phase.max() <= torch.pi
    assert tb.x_support.abs().max() <= 5 and tb.x_query.shape == (500, 7, 1)
    torch.testing.assert_close(tb.y_support, tb.amplitude[:, None, None] * torch.sin(tb.x_support - tb.phase[:, None, None]))


def test_order_must_be_one_or_two():
    params, args = _setup()
    with pytest.raises(ValueError, match="order"):
        maml.maml_meta_gradient(LOSS, params, *args, 0.01, 1, order=3)
