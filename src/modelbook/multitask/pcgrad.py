"""PCGrad (Yu et al. 2020, Algorithm 1): remove from each task's gradient its component along any other task's
gradient it conflicts with, then add the results.

    for each task i, in a random order of the other tasks j:
        if gᵢ^PC · gⱼ < 0:   gᵢ^PC ← gᵢ^PC − (gᵢ^PC · gⱼ / ‖gⱼ‖²) gⱼ           (gⱼ: the task's original gradient)
    update direction = Σᵢ gᵢ^PC

For two tasks the result satisfies g^PC · gᵢ ≥ 0 for both i: to first order the step cannot raise either loss, which a
plain sum g₁ + g₂ does whenever the two conflict and one is larger. The reference PyTorch port
(WeiChengTseng/Pytorch-PCGrad) returns the mean instead of the sum: the same direction at half the length.
"""
from __future__ import annotations

import torch


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-30))


def project_conflicting(grads: torch.Tensor, orders: list[list[int]] | None = None) -> torch.Tensor:
    """grads (T, P), one flat gradient per task; returns the T projected gradients (T, P).

    orders[i] is the order in which task i visits the others (default: 0, 1, ..., T-1); the caller draws it at random.
    """
    t = grads.shape[0]
    out = grads.clone()
    for i in range(t):
        for j in (orders[i] if orders is not None else range(t)):
            if j == i:
                continue
            dot = torch.dot(out[i], grads[j])
            if dot < 0:
                out[i] = out[i] - dot / grads[j].pow(2).sum().clamp_min(1e-30) * grads[j]
    return out


def pcgrad(grads: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Σᵢ gᵢ^PC with a random visiting order per task drawn from `generator`."""
    t = grads.shape[0]
    orders = [torch.randperm(t, generator=generator).tolist() for _ in range(t)]
    return project_conflicting(grads, orders).sum(0)
