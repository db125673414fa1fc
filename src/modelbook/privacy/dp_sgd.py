"""DP-SGD (Abadi et al. 2016, Algorithm 1), written out: per-example gradients, clipping, Gaussian noise.

One step, for a lot L drawn by Poisson sampling (each of the N examples joins independently with probability q):

    g_i  = ∇_θ loss(θ; x_i, y_i)                        per-example gradient   (torch.func: vmap over grad)
    ḡ_i  = g_i / max(1, ‖g_i‖₂ / C)                     clip the whole example's gradient to norm ≤ C
    g̃    = (Σ_{i∈L} ḡ_i + N(0, σ²C² I)) / (qN)          noise on the SUM, divided by the EXPECTED lot size
    θ   ← optimizer step with g̃

Why each piece: clipping bounds how much one example can move the sum (sensitivity C), so Gaussian noise of
scale σC hides any one example; Poisson sampling is what the privacy analysis assumes (the accountant in
accountant.py composes the steps); dividing by the expected lot size qN rather than |L| keeps the
denominator from depending on who was sampled. Clipping the *batch* gradient, as is done against exploding
gradients, bounds no individual's influence and gives no privacy.

Per-example gradients cost memory: B copies of every gradient tensor at once. That is why DP models are small or
fine-tune few parameters, and why BatchNorm (which mixes examples) must be replaced by GroupNorm/LayerNorm.

The loop is written out here rather than in core.train.fit, because the update rule is the lesson (STYLE.md C8).
Checked against Opacus 1.6 (GradSampleModule's grad_sample, DPOptimizer's update with the same noise generator)
in tests/privacy/test_dp_sgd.py.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


def per_sample_grads(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """{parameter name: (B, *param.shape)}: the gradient of loss_fn(model(x_i), y_i) for each example i."""
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_one(p, b, xi, yi):
        out = functional_call(model, (p, b), (xi.unsqueeze(0),))  # a batch of one
        return loss_fn(out, yi.unsqueeze(0))

    return vmap(grad(loss_one), in_dims=(None, None, 0, 0))(params, buffers, x, y)


def clip_per_sample(grads: dict[str, torch.Tensor], max_norm: float, stabilizer: float = 0.0):
    """(clipped grads, per-example norms (B,)): ḡ_i = g_i · min(1, C / (‖g_i‖ + stabilizer)).

    ‖g_i‖ is the norm over ALL parameters of example i. stabilizer=0 is Abadi et al.'s formula; Opacus adds 1e-6."""
    norms = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads.values()))  # (B,)
    factor = (max_norm / (norms + stabilizer)).clamp(max=1.0)                  # (B,); a zero gradient stays zero
    return {k: torch.einsum("b,b...->b...", factor.to(g.dtype), g) for k, g in grads.items()}, norms


def noisy_average(clipped: dict[str, torch.Tensor], noise_multiplier: float, max_norm: float, expected_batch: float,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """g̃ = (Σ_i ḡ_i + N(0, (σC)² I)) / expected_batch, noise drawn parameter by parameter in order."""
    out = {}
    for k, g in clipped.items():
        total = g.sum(0)
        if noise_multiplier > 0:
            total = total + torch.normal(0.0, noise_multiplier * max_norm, size=total.shape, generator=generator,
                                         dtype=total.dtype, device=total.device)
        out[k] = total / expected_batch
    return out


def dp_sgd_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor,
                noise_multiplier: float, max_norm: float, expected_batch: float, generator: torch.Generator | None = None,
                stabilizer: float = 0.0) -> torch.Tensor:
    """One private step: set each parameter's .grad to the noisy clipped average, then optimizer.step().
    Returns the per-example gradient norms before clipping (B,)."""
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    if len(x) == 0:  # Poisson sampling can draw an empty lot: the step is pure noise
        grads = {k: torch.zeros((0, *p.shape), dtype=p.dtype) for k, p in named}
    else:
        grads = per_sample_grads(model, loss_fn, x, y)
    clipped, norms = clip_per_sample(grads, max_norm, stabilizer)
    noisy = noisy_average(clipped, noise_multiplier, max_norm, expected_batch, generator)
    for k, p in named:
        p.grad = noisy[k].to(p.dtype)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return norms


def poisson_lots(n: int, q: float, n_steps: int, generator: torch.Generator):
    """Yield `n_steps` index tensors, each example included independently with probability q."""
    for _ in range(n_steps):
        yield torch.nonzero(torch.rand(n, generator=generator) < q).flatten()


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, q: float, n_steps: int, noise_multiplier: float,
          max_norm: float, lr: float, generator: torch.Generator, momentum: float = 0.0,
          loss_fn: Callable = nn.functional.cross_entropy, on_step: Callable | None = None) -> list[float]:
    """Train with DP-SGD for n_steps Poisson-sampled lots; returns the mean pre-clipping gradient norm per step.

    noise_multiplier=0 and max_norm=inf give plain SGD on Poisson lots (the non-private baseline with the same
    sampling and averaging)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    expected_batch = q * len(x)
    norms = []
    for step, idx in enumerate(poisson_lots(len(x), q, n_steps, generator)):
        # -- the algorithm --
        step_norms = dp_sgd_step(model, optimizer, loss_fn, x[idx], y[idx], noise_multiplier, max_norm,
                                 expected_batch, generator)
        # -- bookkeeping --
        norms.append(float(step_norms.mean()) if len(step_norms) else 0.0)
        if on_step is not None:
            on_step(step)
    return norms


def train_at_epsilon(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, *, q: float, n_steps: int,
                     delta: float, max_norm: float, lr: float, generator: torch.Generator, momentum: float = 0.0) -> float:
    """One point of a privacy–utility curve: train `model` with DP-SGD at the target (ε, δ); returns the σ used.

    σ is the smallest noise multiplier whose RDP accountant ε over n_steps Poisson lots of rate q is ≤ ε.
    ε = inf is the non-private end of the curve: σ = 0 and no clipping, the same sampling and averaging."""
    from modelbook.privacy import accountant

    private = epsilon != float("inf")
    sigma = accountant.noise_multiplier_for(epsilon, q, n_steps, delta) if private else 0.0
    train(model, x, y, q=q, n_steps=n_steps, noise_multiplier=sigma, max_norm=max_norm if private else float("inf"),
          lr=lr, momentum=momentum, generator=generator)
    return sigma
