"""Adaptive (sensitivity-driven) layer-wise sparsity: measure how much each layer hurts when pruned, then
choose every layer's sparsity so that the whole network reaches a target sparsity at the least total damage.

Uniform layer-wise pruning cuts the same fraction everywhere; global magnitude pruning uses one |w| threshold,
which adapts the per-layer fraction to the weights' scales but not to what the layer does. Han et al. 2015
(§4, Fig. 6) instead ran a *sensitivity analysis*: prune one layer at a time, watch the accuracy, and give
sensitive layers a gentler cut. This module makes that choice automatic:

  1. `sensitivity_scan`: for every prunable layer l and every sparsity s of a grid, magnitude-prune layer l
     alone to s (the others dense) and record the loss increase ΔL_l(s) = L(pruned) − L(dense) on a
     calibration set. A layer-wise, zeroth-order measurement: no gradients, no Hessian.
  2. `allocate_sparsity`: treat the damage as additive over layers (the usual separability assumption of
     per-layer allocation, e.g. OBS-based compressors) and minimise Σ_l ΔL_l(k_l) over the numbers of removed
     weights k_l subject to Σ_l k_l = K = round(s · N). Between grid points ΔL_l is linear in k_l; on the lower
     convex hull of each layer's points the problem is a fractional knapsack, solved exactly by greed: take
     hull segments in order of increasing slope (cost per removed weight) until K weights are removed, the
     last one partly. The total is met to the weight, and per layer the counts are integers.

Within each layer the weights removed are still the smallest |w| (`prune.magnitude_masks` with scope="layer").
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from modelbook.compression.prune import prunable


@torch.no_grad()
def sensitivity_scan(model: nn.Module, grid: tuple[float, ...], evaluate: Callable[[nn.Module], float]) -> dict[str, np.ndarray]:
    """{layer weight name: ΔL at each grid sparsity}: the loss increase `evaluate(model) − evaluate(dense)`
    when that layer alone is magnitude-pruned to each sparsity (torch.nn.utils.prune.l1_unstructured's rule).
    The model is left as it came in."""
    base = evaluate(model)
    out = {}
    for name, w in prunable(model).items():
        original = w.detach().clone()
        # one sort per layer instead of a top-k per grid point: the k smallest |w| are the first k in this order
        # (equal to torch.topk's choice unless |w| ties across the cut, which trained float weights do not have)
        order = original.abs().reshape(-1).argsort(stable=True)
        losses = []
        for s in grid:
            flat = w.view(-1)
            flat[order[:round(s * w.numel())]] = 0
            losses.append(evaluate(model) - base)
            w.copy_(original)
        out[name] = np.asarray(losses, dtype=float)
    return out


def _lower_hull(k: np.ndarray, c: np.ndarray) -> list[int]:
    """Indices of the lower convex hull of the points (k_i, c_i), k strictly increasing (monotone chain)."""
    hull: list[int] = []
    for i in range(len(k)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b if it lies on or above the chord a -> i
            if (c[b] - c[a]) * (k[i] - k[a]) >= (c[i] - c[a]) * (k[b] - k[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def allocate_sparsity(sizes: dict[str, int], grid: tuple[float, ...], costs: dict[str, np.ndarray],
                      sparsity: float) -> dict[str, int]:
    """Numbers of weights to remove per layer, summing to exactly round(sparsity · Σ sizes), that minimise
    Σ_l ĉ_l(k_l), ĉ_l the lower convex hull of the points (round(g · n_l), costs[l][g]) over the grid g
    (which must start at 0, where the cost is 0: nothing removed)."""
    if grid[0] != 0 or any(b <= a for a, b in zip(grid, grid[1:])):
        raise ValueError(f"grid must start at 0 and increase strictly, got {grid}")
    total = sum(sizes.values())
    target = round(sparsity * total)
    segments = []  # (slope, layer order, start count, length)
    for order, (name, n) in enumerate(sizes.items()):
        k = np.array([round(g * n) for g in grid], dtype=float)
        c = np.asarray(costs[name], dtype=float) - float(costs[name][0])
        keep = np.concatenate([[True], np.diff(k) > 0])  # a tiny layer can map two grid points to one count
        k, c = k[keep], c[keep]
        hull = _lower_hull(k, c)
        for a, b in zip(hull, hull[1:]):
            segments.append(((c[b] - c[a]) / (k[b] - k[a]), order, name, int(k[a]), int(k[b] - k[a])))
    reachable = sum(length for *_, length in segments)
    if target > reachable:
        raise ValueError(f"sparsity {sparsity} needs {target} weights removed; the grid reaches only {reachable}")
    removed = {name: 0 for name in sizes}
    left = target
    for _, _, name, _, length in sorted(segments, key=lambda s: (s[0], s[1], s[3])):
        take = min(left, length)
        removed[name] += take
        left -= take
        if left == 0:
            break
    return removed


def inverted_costs(costs: dict[str, np.ndarray], sizes: dict[str, int], grid: tuple[float, ...]) -> dict[str, np.ndarray]:
    """A deliberately wrong sensitivity for bite tests: each layer's curve replaced by a straight line whose
    cost per removed weight is the *reciprocal* of the layer's measured average cost per weight, so the
    allocation prunes the most sensitive layers first (the ranking inverted)."""
    per_weight = {k: max(float(c[-1]), 1e-12) / sizes[k] for k, c in costs.items()}
    out = {}
    for k, c in costs.items():
        out[k] = np.array([round(g * sizes[k]) for g in grid], dtype=float) / per_weight[k]
    return out
