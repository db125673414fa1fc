"""Unstructured magnitude pruning: one-shot (global or layer-wise), gradual (Zhu & Gupta), lottery tickets.

Magnitude pruning (Han et al. 2015) removes the weights with the smallest |w|. A mask m ∈ {0, 1} per weight
is kept, the model computes with w ⊙ m, and training continues on the survivors ("retraining" recovers the
accuracy lost by the cut). Two ways to choose which weights go, at overall sparsity s:
  layer-wise (uniform): every layer loses the fraction s of its own weights;
  global:               one threshold for all layers, so layers with many small weights (usually the big
                        first layer) are pruned harder and small sensitive layers (the output layer) less.
The masks equal torch.nn.utils.prune's l1_unstructured / global_unstructured (tests/compression/test_prune.py):
the k = round(s · n) entries with the smallest |w| are removed (same torch.topk tie-breaking).

Gradual magnitude pruning (Zhu & Gupta 2017, eq. 1) raises the sparsity during training on a cubic schedule,
fast at first while redundant weights abound, slowly near the end:

    s_t = s_f + (s_i − s_f) · (1 − (t − t0) / (n Δt))³      for t ∈ {t0, t0 + Δt, ..., t0 + n Δt}

Lottery tickets (Frankle & Carbin 2019): train, prune by magnitude, then rewind the surviving weights to
their values at initialisation (θ₀) and train again with the mask fixed; each round removes a fraction of
the weights that survived the last one (`prune_survivors`, equal to torch.nn.utils.prune applied again).
The claim is that this sparse network (the "winning ticket") trains to the dense accuracy, while the same
mask with a fresh random initialisation does worse: the ticket is the mask *and* its initial values.

Sparse storage: an unstructured sparse matrix only saves memory if stored sparsely; `sparse_bytes` counts
a bitmask encoding (1 bit per position + 4 bytes per surviving value). Dense kernels gain no speed from
zeros: speedups need structured pruning (structured.py) or sparse kernels.
"""
from __future__ import annotations

import torch
from torch import nn

from modelbook.core.train import Callback

Masks = dict[str, torch.Tensor]  # parameter name -> bool mask, same shape (True = kept)


def prunable(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of every Linear and Conv2d layer, by parameter name (biases and norms are not pruned)."""
    return {f"{name}.weight": m.weight for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}


def _keep_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Mask keeping all but the k = round(sparsity · n) smallest scores (torch.nn.utils.prune's rule)."""
    k = round(sparsity * scores.numel())
    mask = torch.ones(scores.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(scores.reshape(-1), k=k, largest=False).indices] = False
    return mask.reshape(scores.shape)


def magnitude_masks(weights: dict[str, torch.Tensor], sparsity: float | dict[str, float], scope: str = "global") -> Masks:
    """Masks removing the smallest |w|: one threshold over all weights (scope="global") or the same
    fraction in each layer (scope="layer"; `sparsity` may then be a dict of per-layer fractions)."""
    if scope == "layer":
        per_layer = sparsity if isinstance(sparsity, dict) else {k: sparsity for k in weights}
        return {k: _keep_mask(w.detach().abs(), per_layer[k]) for k, w in weights.items()}
    if scope != "global":
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    flat = torch.cat([w.detach().abs().reshape(-1) for w in weights.values()])  # (Σn,) in dict order
    keep = _keep_mask(flat, float(sparsity))
    masks, start = {}, 0
    for k, w in weights.items():
        masks[k] = keep[start:start + w.numel()].reshape(w.shape)
        start += w.numel()
    return masks


@torch.no_grad()
def apply_masks_(model: nn.Module, masks: Masks) -> None:
    """w ← w ⊙ m for every masked parameter."""
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask)


def sparsity_of(masks: Masks) -> float:
    """Fraction of masked-out weights over all masked parameters."""
    total = sum(m.numel() for m in masks.values())
    return 1.0 - sum(int(m.sum()) for m in masks.values()) / total


def sparse_bytes(model: nn.Module, masks: Masks) -> int:
    """Model bytes with masked weights stored as bitmask + fp32 survivors, everything else dense fp32."""
    total = 0
    for name, p in model.named_parameters():
        if name in masks:
            total += (p.numel() + 7) // 8 + 4 * int(masks[name].sum())
        else:
            total += p.numel() * p.element_size()
    return total


class CSRLinear(nn.Module):
    """A pruned Linear stored in compressed sparse row form and multiplied with torch's sparse kernel, to
    measure whether unstructured sparsity buys speed on this CPU (it needs very high sparsity to)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.weight = linear.weight.detach().to_sparse_csr()  # (N, K), only the non-zeros
        self.bias = None if linear.bias is None else linear.bias.detach().clone()

    def forward(self, x):  # x (B, K) -> (B, N) = (W xᵀ)ᵀ + b
        y = (self.weight @ x.t()).t()
        return y if self.bias is None else y + self.bias


def to_csr(model: nn.Sequential) -> nn.Sequential:
    """A copy of a Sequential MLP with every Linear in CSR form."""
    return nn.Sequential(*[CSRLinear(m) if isinstance(m, nn.Linear) else m for m in model])


class KeepMasked(Callback):
    """Re-apply fixed masks after every optimizer step, so pruned weights stay at zero while the rest train."""

    def __init__(self, masks: Masks):
        self.masks = masks

    def on_step_end(self, state, loss, grad_norm):
        apply_masks_(state.model, self.masks)


def cubic_sparsity(t: int, s_i: float, s_f: float, t0: int, n: int, dt: int) -> float:
    """Zhu & Gupta's target sparsity at step t (eq. 1): s_i before t0, s_f after t0 + n·Δt."""
    if t < t0:
        return s_i
    progress = min(1.0, (t - t0) / (n * dt))
    return s_f + (s_i - s_f) * (1 - progress) ** 3


def schedule_steps(total: int, start: tuple[int, int], every: tuple[int, int], end: tuple[int, int]) -> tuple[int, int, int]:
    """(t0, n, Δt) of a cubic schedule over `total` optimizer steps, each given as a fraction (numerator,
    denominator) of training: pruning starts at t0 = start·total, prunes every Δt = every·total steps (both
    floored, at least 1), and takes the most steps n ≥ 1 with t0 + n·Δt ≤ end·total, so s_f is reached by then."""
    t0 = max(1, start[0] * total // start[1])
    dt = max(1, every[0] * total // every[1])
    return t0, max(1, (end[0] * total // end[1] - t0) // dt), dt


class GradualPruning(Callback):
    """Prune by magnitude every Δt optimizer steps from t0 until t0 + n·Δt, following the cubic schedule;
    masks are re-applied after every step. `history` records (step, target sparsity, measured sparsity)."""

    def __init__(self, model: nn.Module, s_f: float, t0: int, n: int, dt: int, s_i: float = 0.0, scope: str = "global"):
        self.weights = prunable(model)
        self.s_i, self.s_f, self.t0, self.n, self.dt, self.scope = s_i, s_f, t0, n, dt, scope
        self.masks: Masks = {k: torch.ones_like(w, dtype=torch.bool) for k, w in self.weights.items()}
        self.history: list[tuple[int, float, float]] = []

    def on_step_end(self, state, loss, grad_norm):
        t = state.step
        if t >= self.t0 and (t - self.t0) % self.dt == 0 and t <= self.t0 + self.n * self.dt:
            target = cubic_sparsity(t, self.s_i, self.s_f, self.t0, self.n, self.dt)
            # magnitudes of the current (already masked) weights: once pruned, a weight stays pruned
            self.masks = magnitude_masks(self.weights, target, self.scope)
            self.history.append((t, target, sparsity_of(self.masks)))
        apply_masks_(state.model, self.masks)


def prune_survivors(weights: dict[str, torch.Tensor], masks: Masks, rates: dict[str, float]) -> Masks:
    """One round of iterative magnitude pruning: in each layer k, remove the round(rates[k] · n_alive) surviving
    weights with the smallest |w| (weights already masked out stay out). Weights tied in |w| with the last one
    removed go too, so with ties a round may remove a few more than its share."""
    new = {}
    for k, w in weights.items():
        alive = w.detach()[masks[k]].abs()
        n_cut = round(rates[k] * alive.numel())
        threshold = alive.kthvalue(n_cut).values if n_cut else -1.0
        new[k] = masks[k] & (w.detach().abs() > threshold)
    return new


@torch.no_grad()
def rewind_(model: nn.Module, initial_state: dict[str, torch.Tensor], masks: Masks) -> None:
    """Lottery-ticket rewinding: every parameter back to its initial value, then the mask applied."""
    model.load_state_dict(initial_state)
    apply_masks_(model, masks)
