"""MAML (second- and first-order), Reptile and plain fine-tuning, on models written as functions of a parameter dict.

A model here is `forward(params, x)` with `params` a dict of tensors (e.g. `mlp_forward`, or
`torch.func.functional_call` of an nn.Module). For a task with support loss L_S and query loss L_Q:

    inner loop   θ′ = θ − α ∇L_S(θ)                         (repeated `steps` times)
    MAML         g = ∇_θ L_Q(θ′(θ))  = (I − α ∇²L_S(θ)) ∇L_Q(θ′)   for one inner step
    first order  g = ∇L_Q(θ′), θ′ held fixed               (drops the Hessian term)
    Reptile      g = (θ − φ) / (α k), φ = k SGD steps on the task (no support/query split in the update)

`maml_meta_gradient` differentiates through the inner loop with torch.func (grad of a function that itself
calls grad; vmap over the tasks of a batch). `maml_meta_gradient_autograd` computes the same number the
classic way, a Python loop over tasks with torch.autograd.grad(create_graph=True), for the cross-check.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.func import grad, vmap

Params = dict[str, torch.Tensor]


# -- a functional MLP (Finn et al.'s sinusoid network: 1 → 40 → 40 → 1, ReLU) --------------------------
def mlp_init(sizes: tuple[int, ...], gen: torch.Generator, dtype=torch.float32) -> Params:
    """PyTorch's nn.Linear default initialisation (uniform ±1/√fan_in), from an explicit generator."""
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1 / a ** 0.5
        params[f"w{i}"] = (torch.rand(b, a, generator=gen, dtype=dtype) * 2 - 1) * bound
        params[f"b{i}"] = (torch.rand(b, generator=gen, dtype=dtype) * 2 - 1) * bound
    return params


def mlp_forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    n = len(params) // 2
    for i in range(n):
        x = x @ params[f"w{i}"].T + params[f"b{i}"]
        if i < n - 1:
            x = torch.relu(x)
    return x


def mse(forward: Callable) -> Callable:
    """The regression loss of a functional model: loss(params, x, y)."""
    return lambda params, x, y: ((forward(params, x) - y) ** 2).mean()


# -- the inner loop -----------------------------------------------------------------------------------
def adapt(loss: Callable, params: Params, x, y, lr: float, steps: int, first_order: bool = False) -> Params:
    """`steps` plain gradient steps on loss(params, x, y). Differentiable in `params` unless first_order."""
    for _ in range(steps):
        g = grad(loss)(params, x, y)
        if first_order:
            g = {k: v.detach() for k, v in g.items()}
        params = {k: p - lr * g[k] for k, p in params.items()}
    return params


def _query_loss(loss, lr, steps):
    def one_task(params, xs, ys, xq, yq):
        return loss(adapt(loss, params, xs, ys, lr, steps), xq, yq)
    return one_task


def maml_meta_gradient(loss: Callable, params: Params, xs, ys, xq, yq, lr: float, steps: int = 1,
                       order: int = 2) -> tuple[Params, torch.Tensor]:
    """(meta-gradient, mean query loss after adaptation) over a batch of tasks (leading dim of xs … yq).

    order=2: exact MAML, torch.func differentiates through the inner gradient steps.
    order=1: first-order MAML, the query gradient at the adapted parameters, the inner steps held fixed."""
    if order == 2:
        def batch_loss(p):
            return vmap(_query_loss(loss, lr, steps), in_dims=(None, 0, 0, 0, 0))(p, xs, ys, xq, yq).mean()
        g, value = torch.func.grad_and_value(batch_loss)(params)
        return g, value.detach()
    if order != 1:
        raise ValueError(f"order must be 1 or 2, got {order}")
    detached = {k: v.detach() for k, v in params.items()}

    def fo_one(xs_, ys_, xq_, yq_):
        adapted = adapt(loss, detached, xs_, ys_, lr, steps)
        return torch.func.grad_and_value(loss)(adapted, xq_, yq_)
    g, value = vmap(fo_one)(xs, ys, xq, yq)
    return {k: v.mean(0) for k, v in g.items()}, value.mean()


def maml_meta_gradient_autograd(loss: Callable, params: Params, xs, ys, xq, yq, lr: float, steps: int = 1) -> Params:
    """The second-order meta-gradient the classic way: a loop over tasks, torch.autograd.grad(create_graph=True)."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    total = 0.0
    for t in range(xs.shape[0]):
        p = leaves
        for _ in range(steps):
            gs = torch.autograd.grad(loss(p, xs[t], ys[t]), list(p.values()), create_graph=True)
            p = {k: v - lr * g for (k, v), g in zip(p.items(), gs)}
        total = total + loss(p, xq[t], yq[t])
    gs = torch.autograd.grad(total / xs.shape[0], list(leaves.values()))
    return dict(zip(leaves, gs))


def hessian_term(loss: Callable, params: Params, xs, ys, xq, yq, lr: float) -> Params:
    """For one inner step: the part second-order MAML adds to first order, −α ∇²L_S(θ) ∇L_Q(θ′), batch mean.

    A Hessian-vector product by forward-over-reverse differentiation (torch.func.jvp of grad)."""
    def one(xs_, ys_, xq_, yq_):
        adapted = adapt(loss, params, xs_, ys_, lr, 1, first_order=True)
        v = grad(loss)(adapted, xq_, yq_)
        _, hvp = torch.func.jvp(lambda p: grad(loss)(p, xs_, ys_), (params,), (v,))
        return {k: -lr * h for k, h in hvp.items()}
    out = vmap(one)(xs, ys, xq, yq)
    return {k: v.mean(0) for k, v in out.items()}


def reptile_direction(loss: Callable, params: Params, x, y, lr: float, steps: int) -> Params:
    """Reptile's update direction θ − φ averaged over the tasks (φ: `steps` SGD steps on each task's K points)."""
    detached = {k: v.detach() for k, v in params.items()}
    phi = vmap(lambda x_, y_: adapt(loss, detached, x_, y_, lr, steps, first_order=True))(x, y)
    return {k: detached[k] - phi[k].mean(0) for k in detached}


def finetune_curve(loss: Callable, params: Params, xs, ys, xq, yq, lr: float, steps: int) -> torch.Tensor:
    """Query loss per task after 0, 1, …, `steps` SGD steps on its support set: (steps + 1, T)."""
    detached = {k: v.detach() for k, v in params.items()}

    def one(xs_, ys_, xq_, yq_):
        p, out = detached, [loss(detached, xq_, yq_)]
        for _ in range(steps):
            p = adapt(loss, p, xs_, ys_, lr, 1, first_order=True)
            out.append(loss(p, xq_, yq_))
        return torch.stack(out)
    with torch.no_grad():
        return vmap(one)(xs, ys, xq, yq).T


def adam_step(params: Params, g: Params, state: dict, lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> Params:
    """One Adam update on a parameter dict (the outer optimiser of MAML and pretraining in Finn et al.)."""
    state["t"] = state.get("t", 0) + 1
    t, (b1, b2) = state["t"], betas
    out = {}
    for k, p in params.items():
        m = state[("m", k)] = b1 * state.get(("m", k), 0) + (1 - b1) * g[k]
        v = state[("v", k)] = b2 * state.get(("v", k), 0) + (1 - b2) * g[k] ** 2
        out[k] = (p - lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)).detach()
    return out
