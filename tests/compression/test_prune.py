"""Magnitude pruning vs torch.nn.utils.prune (identical masks), the cubic schedule, rewinding."""
import copy

import pytest
import torch
import torch.nn.utils.prune as tprune
from torch import nn

from modelbook.compression.prune import (
    GradualPruning,
    apply_masks_,
    cubic_sparsity,
    magnitude_masks,
    prunable,
    prune_survivors,
    rewind_,
    schedule_steps,
    sparse_bytes,
    sparsity_of,
    to_csr,
)


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 40), nn.ReLU(), nn.Linear(40, 20), nn.ReLU(), nn.Linear(20, 10))


@pytest.mark.parametrize("sparsity", [0.3, 0.8, 0.97])
@pytest.mark.parametrize("seed", [0, 1])
def test_global_masks_equal_torch_global_unstructured(sparsity, seed):
    net = _net(seed)
    ref = copy.deepcopy(net)
    layers = [(m, "weight") for m in ref if isinstance(m, nn.Linear)]
    tprune.global_unstructured(layers, pruning_method=tprune.L1Unstructured, amount=sparsity)
    ours = magnitude_masks(prunable(net), sparsity, "global")
    for mask, (m, _) in zip(ours.values(), layers):
        assert torch.equal(mask, m.weight_mask.bool())
    assert sparsity_of(ours) == pytest.approx(sparsity, abs=1 / sum(m.numel() for m in ours.values()))


@pytest.mark.parametrize("sparsity", [0.5, 0.9])
def test_layer_masks_equal_torch_l1_unstructured(sparsity):
    net = _net(2)
    ref = copy.deepcopy(net)
    for m in ref:
        if isinstance(m, nn.Linear):
            tprune.l1_unstructured(m, "weight", amount=sparsity)
    ours = magnitude_masks(prunable(net), sparsity, "layer")
    theirs = [m.weight_mask.bool() for m in ref if isinstance(m, nn.Linear)]
    assert all(torch.equal(a, b) for a, b in zip(ours.values(), theirs))
    # and the pruned model computes what torch's pruned model computes
    apply_masks_(net, ours)
    x = torch.randn(5, 64)
    torch.testing.assert_close(net(x), ref(x))


def test_cubic_schedule_matches_zhu_gupta():
    s_i, s_f, t0, n, dt = 0.0, 0.9, 100, 10, 50
    assert cubic_sparsity(0, s_i, s_f, t0, n, dt) == s_i
    assert cubic_sparsity(t0, s_i, s_f, t0, n, dt) == pytest.approx(s_i)
    assert cubic_sparsity(t0 + n * dt, s_i, s_f, t0, n, dt) == pytest.approx(s_f)
    assert cubic_sparsity(10_000, s_i, s_f, t0, n, dt) == pytest.approx(s_f)
    # halfway in time the cube has done 7/8 of the work: fast at first, slow at the end
    assert cubic_sparsity(t0 + n * dt // 2, s_i, s_f, t0, n, dt) == pytest.approx(s_f * (1 - 0.5**3))


def test_gradual_pruning_is_monotone_and_reaches_the_target():
    net = _net(3)
    pruner = GradualPruning(net, 0.8, t0=2, n=4, dt=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)

    class State:
        model, step = net, 0
    for step in range(1, 20):
        opt.zero_grad()
        net(torch.randn(8, 64)).pow(2).mean().backward()
        opt.step()
        State.step = step
        pruner.on_step_end(State, 0.0, 0.0)
    measured = [m for _, _, m in pruner.history]
    assert measured == sorted(measured) and measured[-1] == pytest.approx(0.8, abs=1e-3)
    assert all(float((w[~m]).abs().max()) == 0 for w, m in zip(prunable(net).values(), pruner.masks.values()))


@pytest.mark.parametrize("seed", [0, 1])
def test_prune_survivors_equals_torch_pruning_the_pruned_layer_again(seed):
    # torch.nn.utils.prune applied to an already pruned parameter (a PruningContainer) prunes `amount` of the
    # surviving entries only: the rounds of iterative magnitude pruning, with the output layer at half rate
    net = _net(seed)
    ref = copy.deepcopy(net)
    linears = [m for m in ref if isinstance(m, nn.Linear)]
    masks = magnitude_masks(prunable(net), 0.4, "layer")
    for m in linears:
        tprune.l1_unstructured(m, "weight", amount=0.4)
    apply_masks_(net, masks)
    for _ in range(2):
        rates = {k: (0.15 if k == "5.weight" else 0.3) for k in masks}
        masks = prune_survivors(prunable(net), masks, rates)
        apply_masks_(net, masks)
        for m, rate in zip(linears, rates.values()):
            tprune.l1_unstructured(m, "weight", amount=rate)
        for mask, m in zip(masks.values(), linears):
            assert torch.equal(mask, m.weight_mask.bool())
    assert sparsity_of(masks) > 0.6


def test_rewind_restores_initial_values_under_the_mask():
    net = _net(4)
    init = copy.deepcopy(net.state_dict())
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    masks = magnitude_masks(prunable(net), 0.5)
    rewind_(net, init, masks)
    for name, w in prunable(net).items():
        torch.testing.assert_close(w, init[name] * masks[name])


def test_sparse_storage_and_csr_forward():
    net = _net(5)
    masks = magnitude_masks(prunable(net), 0.9)
    apply_masks_(net, masks)
    dense_bytes = sum(p.numel() * 4 for p in net.parameters())
    assert sparse_bytes(net, masks) < dense_bytes / 5
    x = torch.randn(7, 8, 8)
    torch.testing.assert_close(to_csr(net)(x), net(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("start,every,end", [((1, 6), (1, 40), (2, 3)), ((1, 4), (1, 10), (3, 4)), ((1, 2), (1, 3), (1, 2))])
def test_schedule_steps_equal_a_search_over_n(start, every, end):
    from fractions import Fraction
    from math import floor

    for total in range(1, 400):
        t0 = max(1, floor(Fraction(start[0], start[1]) * total))
        dt = max(1, floor(Fraction(every[0], every[1]) * total))
        last = floor(Fraction(end[0], end[1]) * total)
        fits = [n for n in range(1, total + 2) if t0 + n * dt <= last]  # the schedule must end by `last`
        assert schedule_steps(total, start, every, end) == (t0, max(fits) if fits else 1, dt), total
