"""Gradient attributions: saliency, gradient × input, Integrated Gradients (Sundararajan et al. 2017).

For a model f (one output logit, class c) and an input x:

  saliency            |∂f_c/∂x|                                   (Simonyan et al. 2014)
  gradient × input    x ⊙ ∂f_c/∂x
  Integrated Gradients, with a baseline x′ (an "absence" input, here black):
      IG_i(x) = (x_i − x′_i) · ∫₀¹ ∂f_c(x′ + α(x − x′))/∂x_i dα

IG satisfies completeness: Σ_i IG_i(x) = f_c(x) − f_c(x′) (the fundamental theorem of calculus along the
straight path), so the attributions account for the whole change in the output. A numerical quadrature of the
integral only satisfies it approximately; the gap |Σ IG − (f(x) − f(x′))| / |f(x) − f(x′)| is the standard test
that enough steps were taken. Two quadratures:

  trapezoid      α_k = k/(m−1), weights 1/(m−1) with half weight at both ends: error O(1/m²)
  Gauss–Legendre α_k = (1 + t_k)/2, weights w_k/2, (t_k, w_k) the m-point Legendre nodes: exact for
                 polynomials of degree 2m − 1 in α, so far fewer steps reach the same gap on smooth paths.
                 (Captum's default; ReLU networks are only piecewise smooth along the path, which is why
                 their gap falls more slowly than the theory for analytic functions.)

Captum 0.9's "riemann_trapezoid" uses weights 1/m (halved at the ends), which sum to (m−1)/m, so its
completeness gap cannot fall below about 1/m; with the same Gauss–Legendre nodes ours equals Captum's IG
(tests/interpret/test_gradients.py).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _output_grad(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(f_target(x) per example (B,), ∂f_target/∂x (B, ...)) with x: (B, ...)."""
    x = x.detach().requires_grad_(True)
    out = model(x).gather(1, target[:, None]).squeeze(1)
    (g,) = torch.autograd.grad(out.sum(), x)
    return out.detach(), g


def saliency(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|∂f_target/∂x|, same shape as x."""
    return _output_grad(model, x, target)[1].abs()


def gradient_x_input(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return x * _output_grad(model, x, target)[1]


def quadrature(n_steps: int, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """(α_k, weights) on [0, 1] for the path integral."""
    if method == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (1 + t), 0.5 * w
    if method == "trapezoid":
        if n_steps < 2:
            raise ValueError("the trapezoid rule needs at least 2 steps")
        w = np.full(n_steps, 1.0 / (n_steps - 1))
        w[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n_steps), w
    raise ValueError(f"unknown quadrature {method!r}: use 'gausslegendre' or 'trapezoid'")


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: torch.Tensor, baseline: torch.Tensor | None = None,
                         n_steps: int = 32, method: str = "gausslegendre", chunk: int = 512) -> torch.Tensor:
    """IG attributions, same shape as x (B, ...). baseline defaults to zeros (a black image).

    The B·m path points are pushed through the model in chunks of `chunk` rows."""
    baseline = torch.zeros_like(x) if baseline is None else baseline.expand_as(x)
    alphas, weights = quadrature(n_steps, method)
    a = torch.tensor(alphas, dtype=x.dtype)
    w = torch.tensor(weights, dtype=x.dtype)
    shape = (n_steps,) + (1,) * x.dim()
    path = baseline[None] + a.view(shape) * (x - baseline)[None]            # (m, B, ...)
    flat = path.reshape(n_steps * len(x), *x.shape[1:])                     # (m·B, ...)
    tgt = target.repeat(n_steps)                                            # (m·B,)
    grads = torch.cat([_output_grad(model, flat[i:i + chunk], tgt[i:i + chunk])[1] for i in range(0, len(flat), chunk)])
    avg_grad = (grads.view(n_steps, *x.shape) * w.view(shape)).sum(0)       # (B, ...) ≈ ∫ ∂f/∂x dα
    return (x - baseline) * avg_grad


@torch.no_grad()
def completeness_gap(model: nn.Module, x: torch.Tensor, target: torch.Tensor, attributions: torch.Tensor,
                     baseline: torch.Tensor | None = None) -> torch.Tensor:
    """|Σ_i IG_i − (f(x) − f(x′))| / |f(x) − f(x′)| for each example (B,)."""
    baseline = torch.zeros_like(x) if baseline is None else baseline.expand_as(x)
    fx = model(x).gather(1, target[:, None]).squeeze(1)
    fb = model(baseline).gather(1, target[:, None]).squeeze(1)
    total = attributions.flatten(1).sum(1)
    return (total - (fx - fb)).abs() / (fx - fb).abs()


def integrated_gradients_to_tolerance(model: nn.Module, x: torch.Tensor, target: torch.Tensor, n_steps: int, max_steps: int,
                                      tol: float = 0.01, attributions: torch.Tensor | None = None
                                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Completeness as Sundararajan et al. (§3) advise using it: raise the number of steps until the sum matches.

    Starting from `n_steps` Gauss–Legendre nodes (or from `attributions` already computed with them), the nodes are
    doubled for the examples whose completeness gap still exceeds `tol`, until none does or `max_steps` is
    reached. A ReLU network is only piecewise smooth along the path, so a few examples need many more nodes
    than the rest. Returns (attributions (B, ...), completeness gap (B,), nodes used per example (B,))."""
    if attributions is None:
        attributions = integrated_gradients(model, x, target, n_steps=n_steps)
    attributions = attributions.clone()
    gap = completeness_gap(model, x, target, attributions)
    steps_used = torch.full((len(x),), n_steps)
    m = n_steps
    while float(gap.max()) > tol and m < max_steps:
        m *= 2
        bad = gap > tol
        attributions[bad] = integrated_gradients(model, x[bad], target[bad], n_steps=m)
        gap[bad] = completeness_gap(model, x[bad], target[bad], attributions[bad])
        steps_used[bad] = m
    return attributions, gap, steps_used


def completeness_curve(model: nn.Module, x: torch.Tensor, target: torch.Tensor, steps: tuple[int, ...],
                       method: str = "gausslegendre") -> list[float]:
    """The mean completeness gap over the batch of IG with each number of steps in `steps`, one quadrature."""
    return [float(completeness_gap(model, x, target, integrated_gradients(model, x, target, n_steps=m, method=method)).mean())
            for m in steps]
