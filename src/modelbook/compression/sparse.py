"""Dynamic sparse training: train a sparse network from scratch, moving its connections as it learns.

Pruning starts dense and ends sparse, so training costs as much as the dense model. Dynamic sparse training
(DST) keeps the network sparse from the first step and periodically rewires it:

  1. Start from a random mask at density d per layer. Erdős–Rényi allocation (SET, Mocanu et al. 2018) gives
     a layer with n_in inputs and n_out outputs density ∝ (n_in + n_out) / (n_in · n_out), so big layers are
     sparser; the factor ε is solved so the whole model hits the target sparsity.
  2. Every ΔT steps, in each layer: drop the fraction ζ_t of active weights with the smallest |w|, and grow
     the same number of new connections among the inactive ones (initialised to 0), so the density is fixed.
       SET (Mocanu et al. 2018):  grow at random positions.
       RigL (Evci et al. 2020):   grow where the dense gradient |∂L/∂w| is largest (the gradient of the
                                  masked-out weights is free here: they are stored as zeros, so backward
                                  computes their gradient anyway).
     RigL decays the update fraction on a cosine, ζ_t = ζ/2 · (1 + cos(π t / T_end)), and stops at T_end.
  3. Optimizer state (Adam moments) of dropped and grown weights is reset to 0.

Static sparse training (the same random mask, never updated) is the baseline that DST must beat: the claim of
SET and RigL is that moving the connections finds a better sparse network than keeping the first random one.
The loop is core.train.fit; the rewiring is a callback (`DynamicSparsity`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from modelbook.compression.prune import Masks, apply_masks_, prunable
from modelbook.core.train import Callback


def erdos_renyi_densities(weights: dict[str, torch.Tensor], sparsity: float) -> dict[str, float]:
    """Per-layer densities ∝ Σ dims / Π dims (ERK for convs: (C_out + C_in + kH + kW) / (C_out·C_in·kH·kW)),
    scaled so the overall density is 1 − sparsity; layers that would exceed density 1 are made dense and
    the rest rescaled (RigL's procedure)."""
    n = {k: w.numel() for k, w in weights.items()}
    raw = {k: sum(w.shape) / w.numel() for k, w in weights.items()}
    budget = (1 - sparsity) * sum(n.values())
    dense: set[str] = set()
    while True:
        free = [k for k in weights if k not in dense]
        eps = (budget - sum(n[k] for k in dense)) / sum(raw[k] * n[k] for k in free)
        over = [k for k in free if eps * raw[k] > 1]
        if not over:
            return {k: 1.0 if k in dense else eps * raw[k] for k in weights}
        dense.update(over)


def random_masks(weights: dict[str, torch.Tensor], densities: dict[str, float], generator: torch.Generator) -> Masks:
    """For each layer, round(density · n) active positions chosen uniformly at random."""
    masks = {}
    for k, w in weights.items():
        n_active = round(densities[k] * w.numel())
        idx = torch.randperm(w.numel(), generator=generator)[:n_active]
        mask = torch.zeros(w.numel(), dtype=torch.bool)
        mask[idx] = True
        masks[k] = mask.reshape(w.shape)
    return masks


class DynamicSparsity(Callback):
    """Keeps `masks` applied after every step and rewires them every `delta_t` steps until `t_end`.

    grow="random" is SET, grow="gradient" is RigL; `history` records (step, fraction moved)."""

    def __init__(self, model: nn.Module, masks: Masks, optimizer: torch.optim.Optimizer, grow: str = "gradient",
                 zeta: float = 0.3, delta_t: int = 100, t_end: int = 1000, generator: torch.Generator | None = None):
        if grow not in ("random", "gradient", "none"):
            raise ValueError(f"grow must be 'random' (SET), 'gradient' (RigL) or 'none' (static), got {grow!r}")
        self.weights = prunable(model)
        self.masks, self.optimizer, self.grow = masks, optimizer, grow
        self.zeta, self.delta_t, self.t_end = zeta, delta_t, t_end
        self.generator = generator or torch.Generator().manual_seed(0)
        self.history: list[tuple[int, float]] = []
        apply_masks_(model, masks)

    def on_step_end(self, state, loss, grad_norm):
        t = state.step
        if self.grow != "none" and t % self.delta_t == 0 and t < self.t_end:
            zeta_t = self.zeta / 2 * (1 + math.cos(math.pi * t / self.t_end))
            moved = sum(self._rewire(name, w, zeta_t) for name, w in self.weights.items())
            self.history.append((t, moved / sum(int(m.sum()) for m in self.masks.values())))
        apply_masks_(state.model, self.masks)

    @torch.no_grad()
    def _rewire(self, name: str, w: torch.Tensor, zeta_t: float) -> int:
        mask = self.masks[name].reshape(-1)
        active, inactive = mask.nonzero().squeeze(1), (~mask).nonzero().squeeze(1)
        k = min(int(zeta_t * len(active)), len(inactive))
        if k == 0:
            return 0
        flat_w = w.reshape(-1)
        drop = active[torch.topk(flat_w[active].abs(), k, largest=False).indices]  # smallest |w| among active
        if self.grow == "random":
            grow = inactive[torch.randperm(len(inactive), generator=self.generator)[:k]]
        else:  # largest |gradient| among the positions inactive before this update
            grad = w.grad.reshape(-1)[inactive].abs()
            grow = inactive[torch.topk(grad, k).indices]
        mask[drop] = False
        mask[grow] = True
        flat_w[grow] = 0.0  # new connections start at zero (RigL); dropped ones are zeroed by the mask
        changed = torch.cat([drop, grow])
        for buf in self.optimizer.state.get(w, {}).values():  # reset Adam/momentum state of moved weights
            if torch.is_tensor(buf) and buf.shape == w.shape:
                buf.reshape(-1)[changed] = 0.0
        return k
