"""Sensitivity scan and sparsity allocation (compression/sensitivity.py) against independent computations."""
import copy
import itertools

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune
from torch import nn

from modelbook.compression.prune import magnitude_masks, prunable, sparsity_of
from modelbook.compression.sensitivity import allocate_sparsity, inverted_costs, sensitivity_scan

GRID = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))


def test_scan_equals_pruning_each_layer_alone_with_torch_prune():
    model = _net()
    x, y = torch.randn(64, 12), torch.randint(0, 3, (64,))

    def loss(m):
        with torch.no_grad():
            return float(nn.functional.cross_entropy(m(x), y))
    before = copy.deepcopy(model.state_dict())
    scan = sensitivity_scan(model, GRID, loss)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # left as it came in
    base = loss(model)
    for i, name in ((0, "0.weight"), (2, "2.weight"), (4, "4.weight")):
        for s, measured in zip(GRID, scan[name]):
            ref = copy.deepcopy(model)
            tprune.l1_unstructured(ref[i], "weight", amount=s)  # that layer alone, by the library
            assert measured == pytest.approx(loss(ref) - base, abs=1e-6)


def _convex_costs(rng, n):
    """Costs at the grid's counts round(g · n) (exact integers for n a multiple of 20), convex in the count:
    slopes drawn at random and sorted increasing."""
    counts = np.array([round(g * n) for g in GRID], dtype=float)
    slopes = np.sort(rng.uniform(0, 1, len(GRID) - 1))
    return np.concatenate([[0.0], np.cumsum(slopes * np.diff(counts))])


@pytest.mark.parametrize("seed", range(6))
def test_allocation_is_exact_and_optimal_against_brute_force(seed):
    """Convex piecewise-linear costs: the greedy allocation minimises Σ cost over every integer allocation with the
    same total (found by enumeration, costs interpolated by numpy), and removes exactly round(s · N) weights."""
    rng = np.random.default_rng(seed)
    sizes = {"a": 40, "b": 20, "c": 20}
    costs = {k: _convex_costs(rng, n) * rng.uniform(0.5, 3) for k, n in sizes.items()}
    for sparsity in (0.2, 0.44, 0.6, 0.8):
        removed = allocate_sparsity(sizes, GRID, costs, sparsity)
        target = round(sparsity * sum(sizes.values()))
        assert sum(removed.values()) == target

        def total(alloc):
            return sum(np.interp(alloc[k], [round(g * n) for g in GRID], costs[k]) for k, n in sizes.items())
        best = min(total(dict(zip(sizes, ks))) for ks in itertools.product(*(range(n + 1) for n in sizes.values()))
                   if sum(ks) == target)
        assert total(removed) == pytest.approx(best, abs=1e-9)


def test_allocation_meets_the_sparsity_by_parameter_count_on_a_real_net():
    model = _net()
    weights = prunable(model)
    sizes = {k: w.numel() for k, w in weights.items()}
    rng = np.random.default_rng(1)
    costs = {k: np.concatenate([[0.0], rng.uniform(-0.1, 1, len(GRID) - 1)]) for k in sizes}  # noisy, non-convex
    for sparsity in (0.5, 0.83, 0.9):
        removed = allocate_sparsity(sizes, GRID, costs, sparsity)
        masks = magnitude_masks(weights, {k: removed[k] / sizes[k] for k in sizes}, "layer")
        assert {k: int((~m).sum()) for k, m in masks.items()} == removed
        assert sparsity_of(masks) * sum(sizes.values()) == pytest.approx(round(sparsity * sum(sizes.values())))


def test_allocation_spares_the_sensitive_layer_and_the_inverted_costs_do_not():
    sizes = {"big": 100, "small": 20}
    costs = {"big": np.array([0, 0.01, 0.02, 0.05, 0.1, 0.5]), "small": np.array([0, 0.5, 1, 2, 4, 8])}
    good = allocate_sparsity(sizes, GRID, costs, 0.5)
    bad = allocate_sparsity(sizes, GRID, inverted_costs(costs, sizes, GRID), 0.5)
    assert good == {"big": 60, "small": 0}
    assert bad["small"] == 20  # the sensitive layer goes first


def test_allocation_refuses_a_bad_grid_or_an_unreachable_sparsity():
    sizes, costs = {"a": 10}, {"a": np.zeros(3)}
    with pytest.raises(ValueError):
        allocate_sparsity(sizes, (0.1, 0.5, 0.9), costs, 0.5)
    with pytest.raises(ValueError):
        allocate_sparsity(sizes, (0.0, 0.5, 0.8), costs, 0.9)
