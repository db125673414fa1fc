"""EWC's diagonal Fisher and penalty, and LwF's distillation loss, from scratch in PyTorch.

EWC (Kirkpatrick et al. 2017, PNAS): after a task, F_i = E_x Σ_c p_θ(c|x) (∂ log p_θ(c|x) / ∂θ_i)², the diagonal
of the Fisher information at the task's solution θ*, here computed exactly over the active classes (the expected
Fisher, not the 'empirical' one with the true labels). Training on later tasks adds (λ/2) Σ_i F_i (θ_i − θ*_i)²
per earlier task. Per-example gradients come from torch.func (vmap over grad); `fisher_diagonal_loop` is the
same quantity with one autograd call per example and class, the reference the tests and the lab compare against.

LwF (Li & Hoiem 2016): on the new task's inputs, keep the new model's softened outputs on the old classes close
to those the frozen old model gives: T² · KL(p_old^T ‖ p_new^T) (Hinton et al. 2015 scale by T²).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _masked_logits(logits: torch.Tensor, active: torch.Tensor | None) -> torch.Tensor:
    return logits if active is None else logits[..., active]


def fisher_diagonal(model: torch.nn.Module, x: torch.Tensor, active: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Expected diagonal Fisher over the samples x, the sum over classes weighted by the model's own probabilities."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def logp(p, xi, c):
        out = _masked_logits(functional_call(model, p, (xi.unsqueeze(0),))[0], active)
        return F.log_softmax(out, -1)[c]

    with torch.no_grad():
        probs = F.softmax(_masked_logits(model(x), active), -1)         # (N, C)
    per_class = vmap(grad(logp), in_dims=(None, 0, None))
    fisher = {k: torch.zeros_like(v) for k, v in params.items()}
    for c in range(probs.shape[1]):
        g = per_class(params, x, c)                                      # each (N, *shape)
        w = probs[:, c]
        for k in fisher:
            fisher[k] += torch.einsum("n,n...->...", w, g[k] ** 2)
    return {k: v / len(x) for k, v in fisher.items()}


def fisher_diagonal_loop(model: torch.nn.Module, x: torch.Tensor, active: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The same Fisher, one backward pass per (example, class): slow and plain, for cross-checking."""
    names = [k for k, _ in model.named_parameters()]
    fisher = {k: torch.zeros_like(v) for k, v in model.named_parameters()}
    for xi in x:
        logp = F.log_softmax(_masked_logits(model(xi.unsqueeze(0))[0], active), -1)
        p = logp.exp().detach()
        for c in range(len(logp)):
            grads = torch.autograd.grad(logp[c], list(model.parameters()), retain_graph=True)
            for k, g in zip(names, grads):
                fisher[k] += p[c] * g**2
    return {k: v / len(x) for k, v in fisher.items()}


def ewc_penalty(model: torch.nn.Module, anchors: list[tuple[dict, dict]]) -> torch.Tensor:
    """Σ over earlier tasks of ½ Σ_i F_i (θ_i − θ*_i)² (multiply by λ outside)."""
    total = torch.zeros(())
    for fisher, theta in anchors:
        for k, p in model.named_parameters():
            total = total + 0.5 * (fisher[k] * (p - theta[k]) ** 2).sum()
    return total


def distillation_loss(new_logits: torch.Tensor, old_logits: torch.Tensor, temperature: float = 2.0) -> torch.Tensor:
    """T² · KL(softmax(old/T) ‖ softmax(new/T)), averaged over the batch."""
    t = temperature
    return F.kl_div(F.log_softmax(new_logits / t, -1), F.log_softmax(old_logits / t, -1), log_target=True,
                    reduction="batchmean") * t * t
