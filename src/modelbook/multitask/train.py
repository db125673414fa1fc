"""One multi-task training loop: per step, the T task losses are combined by the chosen scheme.

    method "sum"          Σᵢ cᵢ Lᵢ with fixed weights c (default 1: equal weighting)
    method "uncertainty"  Kendall et al.'s learned log σᵢ² (weighting.UncertaintyWeighting)
    method "gradnorm"     Chen et al.'s adaptive weights (weighting.GradNorm) on the model's last shared weight
    method "pcgrad"       Σᵢ cᵢ Lᵢ's gradient, but on the shared parameters the task gradients cᵢ∇Lᵢ are first
                          projected by PCGrad (pcgrad.pcgrad); task-specific parameters get their own gradient
`weight_lr` is the step size of the learned weights (log σᵢ² and GradNorm's w); log σᵢ² gets Adam with β₂ = 0.9, since
with the default 0.999 the huge first gradients (½ − ½ Lᵢ/σᵢ² at σᵢ = 1) freeze it for thousands of steps. `optimizer` is "adam" or "sgd" (momentum 0.9). `coupling` > 0 adds λ·l2_coupling(model) (soft sharing between separate towers). Every `probe_every` steps the cosine
between the task gradients on the shared parameters is recorded (before any projection).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from modelbook.multitask import nets
from modelbook.multitask import pcgrad as pc
from modelbook.multitask.weighting import GradNorm, UncertaintyWeighting

METHODS = ("sum", "uncertainty", "gradnorm", "pcgrad")


@dataclass
class MTLRun:
    model: nn.Module
    losses: list[list[float]] = field(default_factory=list)       # per step, per task (unweighted)
    cosines: list[float] = field(default_factory=list)            # probed task-gradient cosines on shared params
    weights: list[list[float]] = field(default_factory=list)      # per step, the effective task weights
    uncertainty: UncertaintyWeighting | None = None
    gradnorm: GradNorm | None = None


def task_losses(outputs: list[torch.Tensor], targets: list[torch.Tensor], kinds: tuple[str, ...]) -> torch.Tensor:
    return torch.stack([F.cross_entropy(o, t) if k == "class" else F.mse_loss(o, t)
                        for o, t, k in zip(outputs, targets, kinds)])


def flat_task_grads(losses: torch.Tensor, params: list[nn.Parameter]) -> torch.Tensor:
    """(T, P): each task loss's gradient on `params`, flattened (zeros where a parameter does not depend on it)."""
    rows = []
    for i in range(len(losses)):
        gs = torch.autograd.grad(losses[i], params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(gs, params)]))
    return torch.stack(rows)


def train(model: nn.Module, x: torch.Tensor, ys: list[torch.Tensor], kinds: tuple[str, ...], *, epochs: int,
          batch_size: int, lr: float, method: str = "sum", scales: tuple[float, ...] | None = None,
          coupling: float = 0.0, alpha: float = 1.5, weight_lr: float = 0.025, probe_every: int = 0,
          optimizer: str = "adam", generator: torch.Generator | None = None) -> MTLRun:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    t = len(ys)
    c = torch.tensor(scales if scales is not None else (1.0,) * t)
    run = MTLRun(model)
    params = list(model.parameters())
    extra: list[nn.Parameter] = []
    if method == "uncertainty":
        run.uncertainty = UncertaintyWeighting(t)
        extra = list(run.uncertainty.parameters())
    if method == "gradnorm":
        run.gradnorm = GradNorm(t, alpha, weight_lr)
    groups = [{"params": params}] + ([{"params": extra, "lr": weight_lr, "betas": (0.9, 0.9)}] if extra else [])
    opt = (torch.optim.Adam(groups, lr=lr, foreach=True) if optimizer == "adam"
           else torch.optim.SGD(groups, lr=lr, momentum=0.9, foreach=True))
    shared = model.shared_parameters()
    shared_ids = {id(p) for p in shared}
    n, step = len(x), 0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            losses = task_losses(model(x[idx]), [y[idx] for y in ys], kinds)
            run.losses.append(losses.detach().tolist())
            if probe_every and shared and step % probe_every == 0:
                g = flat_task_grads(losses, shared)
                run.cosines.append(pc.cosine(g[0], g[1]))
            opt.zero_grad()
            if method == "pcgrad" and shared:
                weighted = c * losses
                g = flat_task_grads(weighted, shared)
                combined = pc.pcgrad(g, generator)
                own = [p for p in params if id(p) not in shared_ids]
                weighted.sum().backward(inputs=own)
                offset = 0
                for p in shared:
                    p.grad = combined[offset:offset + p.numel()].view_as(p).clone()
                    offset += p.numel()
                run.weights.append(c.tolist())
            else:
                if method == "uncertainty":
                    total = run.uncertainty(c * losses)
                    run.weights.append((c * run.uncertainty.weights()).tolist())
                elif method == "gradnorm":
                    total = run.gradnorm.weighted_loss(c * losses, model.last_shared_weight())
                    run.weights.append((c * run.gradnorm.w.detach()).tolist())
                else:
                    total = (c * losses).sum()
                    run.weights.append(c.tolist())
                if coupling > 0:
                    total = total + coupling * nets.l2_coupling(model)
                total.backward()
            opt.step()
            step += 1
    return run


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, ys: list[torch.Tensor], batch: int = 2048) -> np.ndarray:
    """Per-task accuracy of a classification model."""
    model.eval()
    correct = np.zeros(len(ys))
    for s in range(0, len(x), batch):
        outs = model(x[s:s + batch])
        correct += [float((o.argmax(1) == y[s:s + batch]).sum()) for o, y in zip(outs, ys)]
    model.train()
    return correct / len(x)
