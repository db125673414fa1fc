"""How to weight the task losses: learned homoscedastic uncertainty (Kendall, Gal & Cipolla 2018) and GradNorm (Chen
et al. 2018). Equal weighting is L = Σᵢ Lᵢ.

Uncertainty weighting: each task i has a learned sᵢ = log σᵢ², and the total is the Gaussian negative log-likelihood
    L = Σᵢ ½ exp(−sᵢ) Lᵢ + ½ sᵢ
(Kendall et al. eq. 7 with Lᵢ the mean squared error; their classification form, eq. 10, has 1/σᵢ² instead of ½·1/σᵢ²,
which only doubles the optimum). ∂L/∂sᵢ = ½ − ½ exp(−sᵢ) Lᵢ = 0 gives σᵢ² = Lᵢ: at equilibrium each task's variance
equals its own loss, and its effective weight ½/σᵢ² is the inverse of it. The ½ sᵢ (log σᵢ) term is what stops every
σᵢ from growing without bound.

GradNorm: weights wᵢ (Σ wᵢ = T) updated to equalise each task's gradient norm on the last shared layer W, scaled by
how far behind it is:  Gᵢ = ‖∇_W wᵢ Lᵢ‖,  L̃ᵢ = Lᵢ(t)/Lᵢ(0),  rᵢ = L̃ᵢ / mean(L̃),
    L_grad = Σᵢ |Gᵢ − mean(G) · rᵢ^α|   (the target mean(G)·rᵢ^α held constant),
a gradient step on w alone, then w ← T · w / Σ w (Chen et al. §3.2, Algorithm 1).
"""
from __future__ import annotations

import torch
from torch import nn


class UncertaintyWeighting(nn.Module):
    def __init__(self, n_tasks: int):
        super().__init__()
        self.log_var = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        return (0.5 * torch.exp(-self.log_var) * losses + 0.5 * self.log_var).sum()

    def weights(self) -> torch.Tensor:
        """Effective weights ½/σᵢ² of the task losses."""
        return 0.5 * torch.exp(-self.log_var.detach())


def uncertainty_optimum(losses: torch.Tensor) -> torch.Tensor:
    """argmin over s of ½ exp(−s) L + ½ s: s* = log L, i.e. σ² = L."""
    return torch.log(losses)


class GradNorm:
    """Keeps the weights w (sum T) and updates them once per training step with `weighted_loss`."""

    def __init__(self, n_tasks: int, alpha: float, lr: float):
        self.alpha = alpha
        self.w = torch.ones(n_tasks, requires_grad=True)
        self.opt = torch.optim.Adam([self.w], lr=lr)
        self.initial: torch.Tensor | None = None

    def weighted_loss(self, losses: torch.Tensor, shared_weight: torch.Tensor) -> torch.Tensor:
        """Σ wᵢ Lᵢ with the current weights (for the model's step); then one GradNorm step on w."""
        t = len(losses)
        if self.initial is None:
            self.initial = losses.detach().clamp_min(1e-12)
        norms = torch.stack([torch.autograd.grad(losses[i], shared_weight, retain_graph=True)[0].norm()
                             for i in range(t)])                                 # ‖∇_W Lᵢ‖, constants for w
        g = self.w * norms
        ratio = losses.detach() / self.initial
        target = (g.mean() * (ratio / ratio.mean()) ** self.alpha).detach()
        grad_loss = (g - target).abs().sum()
        weights_now = self.w.detach().clone()
        self.opt.zero_grad()
        grad_loss.backward()
        self.opt.step()
        with torch.no_grad():
            self.w.clamp_(min=1e-6)
            self.w.mul_(t / self.w.sum())
        return (weights_now * losses).sum()
