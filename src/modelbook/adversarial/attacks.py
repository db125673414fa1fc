"""FGSM and PGD under an L∞ budget, and adversarial training, from scratch.

Inputs are images with pixels in [0, 1]; an attack may move each pixel by at most ε (the L∞ ball B(x, ε)).

FGSM (Goodfellow, Shlens & Szegedy 2015), one step along the sign of the input gradient of the loss:

    x' = clip_[0,1]( x + ε · sign(∇_x L(f(x), y)) )

It is the optimal step for a model that is LINEAR in x (the loss then grows by ε‖∇_x L‖₁), which is the
paper's explanation of why adversarial examples exist; tests/adversarial/test_attacks.py checks it against the
gradient of softmax regression written out by hand, ∇_x L = Wᵀ(softmax(Wx + b) − e_y).

PGD (Madry et al. 2018), many small steps, each projected back into the ball and the pixel range:

    x_0 = x + U(−ε, ε)       (random start)
    x_{t+1} = Π_{B(x,ε) ∩ [0,1]^d}( x_t + α · sign(∇_x L(f(x_t), y)) ),   Π = clamp to [x − ε, x + ε], then to [0, 1]

A stronger attack than FGSM on any non-linear model (PGD accuracy ≤ FGSM accuracy, measured by the lab).

Adversarial training solves min_θ E_(x,y) max_{δ ∈ B(0,ε)} L(f(x + δ), y): each batch is replaced by attacks on
it (Madry: PGD; "fast" adversarial training, Wong, Rice & Kolter 2020: FGSM from a random start with α = 1.25ε,
nearly as robust at the cost of one extra backward pass).

What the source omits: its security topic never mentions that the model itself is an attack surface.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy


def _input_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∇_x of the summed cross-entropy (the sum, so each example's gradient is its own, unscaled by B)."""
    x = x.detach().requires_grad_(True)
    loss = cross_entropy(model(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)  # parameters' .grad are left untouched
    return grad


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """(B, ...) adversarial examples, one signed-gradient step of size eps, clipped to [0, 1]."""
    return (x + eps * _input_grad(model, x, y).sign()).clamp(0.0, 1.0).detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float | None = None, steps: int = 10,
        random_start: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, ...) adversarial examples inside B(x, eps) ∩ [0, 1] after `steps` projected signed-gradient steps."""
    alpha = alpha if alpha is not None else 2.5 * eps / steps  # Madry et al.: 2.5 ε / steps reaches the boundary
    x_adv = x.clone()
    if random_start:
        x_adv = x_adv + (torch.rand(x.shape, generator=generator) * 2 - 1) * eps
        x_adv = x_adv.clamp(0.0, 1.0)
    for _ in range(steps):
        x_adv = x_adv + alpha * _input_grad(model, x_adv, y).sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0.0, 1.0)  # project
    return x_adv.detach()



def ball_excess(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> float:
    """How far adversarial examples stray outside B(x, eps) ∩ [0, 1]: the largest of max(|x' − x|) − eps,
    −min(x') and max(x') − 1 (≤ 0 when every example is inside)."""
    return max(float(((x_adv - x).abs() - eps).max()), float(-x_adv.min()), float(x_adv.max() - 1))


def softmax_regression_fgsm(W: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """FGSM on softmax regression z = Wx + b with its input gradient written out, no autograd:
    ∇_x L = Wᵀ(softmax(Wx + b) − e_y), so x' = clip_[0,1](x + ε · sign(Wᵀ(softmax(z) − e_y)))."""
    z = x @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0  # softmax − one-hot
    return np.clip(x + eps * np.sign(p @ W), 0, 1)


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: Callable | None, batch_size: int = 1000) -> float:
    """Accuracy on attack(model, x, y) (clean accuracy when attack is None), in batches."""
    return int(robust_correct(model, x, y, attack, batch_size).sum()) / len(x)


def robust_correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: Callable | None, batch_size: int = 1000) -> torch.Tensor:
    """(B,) bool: which inputs the model still classifies right after attack(model, x, y), in batches."""
    was_training = model.training
    model.eval()
    correct = []
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        xa = attack(model, xb, yb) if attack else xb   # the attack needs gradients; the prediction does not
        with torch.no_grad():
            correct.append(model(xa).argmax(-1) == yb)
    model.train(was_training)
    return torch.cat(correct)


def adversarial_loss(eps: float, method: str = "fgsm-rs", steps: int = 7, generator: torch.Generator | None = None):
    """loss_fn(model, (x, y)) for core.train.fit: cross-entropy on attacked inputs (Madry's min-max).

    method "pgd": PGD with `steps` steps from a random start (Madry et al. 2018);
    method "fgsm-rs": one FGSM step of α = 1.25 ε from a uniform random start, projected (Wong et al. 2020).
    """
    if method not in ("pgd", "fgsm-rs"):
        raise ValueError(f"unknown adversarial training method {method!r}")

    def loss_fn(model, batch):
        x, y = batch[0], batch[1]
        if method == "pgd":
            x_adv = pgd(model, x, y, eps, steps=steps, generator=generator)
        else:
            x_adv = pgd(model, x, y, eps, alpha=1.25 * eps, steps=1, generator=generator)
        return cross_entropy(model(x_adv), y)
    return loss_fn
