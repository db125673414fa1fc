"""Zero-shot classification through class-name embeddings, and L2-SP transfer of a source head.

Zero-shot (the idea of Socher et al. 2013 and CLIP, Radford et al. 2021): embed each class's name with the
same text encoder as the inputs and predict the class whose name embedding is nearest (cosine). No labelled
example of the class is needed, so classes unseen in any training transfer.

L2-SP (Li, Grandvalet & Davoine 2018): fit the target head while pulling it toward the source's weights W_s:

    min_W,b  mean CE(x W + b, y) + λ/2 · ‖W − W_s‖²            (W_s = 0: ordinary L2, no transfer)

When the source task agrees with the target (same meaning of each class), the prior carries information the
few target labels lack; when it disagrees, the same pull drags the head the wrong way: negative transfer
(Rosenstein et al. 2005; Wang et al. 2019 induce it the same way, with source labels that conflict).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def zero_shot(x_emb: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
    """(N, D) inputs, (K, D) class-name embeddings -> (N,) index of the most cosine-similar class name."""
    return (F.normalize(x_emb, dim=-1) @ F.normalize(class_emb, dim=-1).t()).argmax(-1)


def standardiser(f: torch.Tensor):
    """f -> (f − μ)/σ with the mean and std of f (the reference set), as a function."""
    mean, std = f.mean(0), f.std(0) + 1e-6
    return lambda g: (g - mean) / std


def softmax_regression(x: torch.Tensor, y: torch.Tensor, n_classes: int, l2: float,
                       prior: torch.Tensor | None = None, max_iter: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """(W (D, K), b (K,)) minimising mean cross-entropy + l2/2 · ‖W − prior‖² (full-batch L-BFGS, float64);
    prior None is zero. x is expected standardised."""
    x = x.double()
    w0 = torch.zeros(x.shape[1], n_classes, dtype=torch.float64) if prior is None else prior.double()
    W = w0.clone().requires_grad_(True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ W + b, y) + 0.5 * l2 * ((W - w0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


def accuracy_of(x: torch.Tensor, y: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor]) -> float:
    W, b = weights
    return float(((x.double() @ W + b).argmax(-1) == y).double().mean())
