"""Training a ladder of small GPTs for a scaling-law fit: FLOPs per step, warmup-stable-decay runs that yield
several token budgets from one run, and many learning rates trained at once for a width sweep.

FLOPs. One training step of nn.gpt.GPT on B sequences of T tokens costs, in matrix products,

    6 · N_matmul · B·T  +  3 · n_layer · B · 4·T²·d          (flops.attention_flops_forward, × 3 for the backward)

with N_matmul = 12·n_layer·d² + V·d (every layer's qkv, proj, fc1, fc2 and the lm_head; the embeddings are
gathers, not products, and the attention products Q·Kᵀ and P·V are counted on the full T×T square, as the
written-out attention computes them). The scaling law counts N as *all* parameters (Hoffmann et al. 2022) and
budgets compute as 6·N·D; for models this small the two differ (embeddings and attention are a large share),
and the lab reports by how much.

One run, four budgets. Hoffmann et al. train each (N, D) with its own cosine schedule, because a checkpoint
taken mid-way through a longer schedule sits above the loss a run of that length reaches. A warmup-stable-decay
schedule reaches the same end point more cheaply (Hägele et al. 2024, "Scaling Laws and Compute-Optimal
Training Beyond Fixed Training Durations"): one run at a constant learning rate, and for every budget S a
branch forked at step (1 − f)·S that decays the rate linearly to zero by step S. The ladder costs
S_max·(1 − f) + f·ΣS steps per size instead of ΣS.

Many learning rates at once. `StackedTrainer` trains K copies of one architecture (different learning rates
and seeds) as a single batched model with torch.func (stack_module_state, vmap over functional_call), with
Adam written out over the stacked weights so that each copy has its own step size. Each copy follows the
trajectory it would follow alone, and K small models cost a few times less than K separate runs.

    gpt_train_flops(cfg, batch, seq)              exact matmul FLOPs of one forward + backward step
    matmul_params(cfg)                            N_matmul above
    wsd_lr(step, budget, warmup, cooldown)        the schedule's factor at a step
    wsd_ladder(model, groups, ...)                held-out loss at each budget (one run, forked cooldowns)
    StackedTrainer(models, lrs, mults)            .step(x, y) on all K copies, .heldout(x, y) -> (K,) losses
    adam_step_stacked(...)                        Adam (Kingma & Ba 2015, bias-corrected) on stacked weights

Cross-checks: tests/scaling/test_ladder.py (gpt_train_flops = torch.utils.flop_counter on the real model;
the stacked Adam = torch.optim.Adam run copy by copy; a forked branch = a standalone run of its budget).
"""
from __future__ import annotations

import copy
import math

import torch

from modelbook.nn.gpt import GPTConfig
from modelbook.scaling.flops import LlamaShape, attention_flops_forward

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8   # PyTorch's Adam defaults (and Kingma & Ba 2015's)


def matmul_params(cfg: GPTConfig) -> int:
    """Weights that take part in matrix products: 12·n_layer·d² plus the untied lm_head (V·d)."""
    return 12 * cfg.n_layer * cfg.d_model ** 2 + cfg.vocab_size * cfg.d_model


def gpt_train_flops(cfg: GPTConfig, batch: int, seq: int) -> int:
    """Matmul FLOPs of one forward + backward of nn.gpt.GPT on batch × seq tokens (written-out attention)."""
    # the attention products depend only on layers, heads and head size: a Llama shape with the GPT's numbers
    shape = LlamaShape("gpt", cfg.vocab_size, cfg.d_model, 0, cfg.n_layer, cfg.n_head, cfg.n_head)
    return 6 * matmul_params(cfg) * batch * seq + 3 * attention_flops_forward(shape, batch, seq)


def windows(data: torch.Tensor, starts: torch.Tensor, seq: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, next-token targets) of length `seq` at the given start offsets; starts of any shape (…,)."""
    idx = starts[..., None] + torch.arange(seq)
    return data[idx], data[idx + 1]


def wsd_lr(step: int, budget: int, warmup: int, cooldown: float) -> float:
    """Learning-rate factor at `step` (0-based) of a run that ends at `budget` steps: linear warm-up over
    `warmup` steps, constant, then linear decay to 0 over the last `cooldown` fraction of the budget."""
    decay_start = budget - round(cooldown * budget)
    if step >= decay_start:
        return (budget - step) / (budget - decay_start)
    return min(1.0, (step + 1) / warmup)


class StackedTrainer:
    """K copies of one architecture trained at once with Adam: copy k takes step size lrs[k] · mults[name] on
    weight `name`. The copies' weights are stacked along a leading dimension and one vmapped forward and
    backward computes all K losses and gradients (torch.func)."""

    def __init__(self, models: list, lrs, mults: dict[str, float]):
        from torch.func import functional_call, grad_and_value, stack_module_state, vmap

        self.params, self.buffers = stack_module_state(models)          # name -> (K, ...)
        skeleton = copy.deepcopy(models[0]).to("meta")

        def loss(p, b, x, y):
            return functional_call(skeleton, (p, b), (x, y))

        self._step = vmap(grad_and_value(loss))
        self._eval = vmap(loss, in_dims=(0, 0, None, None))
        lr_k = torch.as_tensor(lrs, dtype=torch.float32)
        self.lr = {name: lr_k * mults[name] for name in self.params}
        self.m1 = {name: torch.zeros_like(p) for name, p in self.params.items()}
        self.m2 = {name: torch.zeros_like(p) for name, p in self.params.items()}
        self.t = 0

    def step(self, x: torch.Tensor, y: torch.Tensor, factor: float = 1.0) -> torch.Tensor:
        """One Adam step of every copy on its own batch x[k], y[k] ((K, batch, seq)), at `factor` × its step
        size. Returns the K training losses (before the step)."""
        grads, losses = self._step(self.params, self.buffers, x, y)
        self.t += 1
        with torch.no_grad():
            lr = {name: v * factor for name, v in self.lr.items()}
            adam_step_stacked(self.params, grads, self.m1, self.m2, lr, self.t)
        return losses.detach()

    @torch.no_grad()
    def heldout(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each copy's mean loss on the same held-out windows (K,); +inf where it is not finite."""
        out = self._eval(self.params, self.buffers, x, y)
        return torch.where(torch.isfinite(out), out, torch.full_like(out, math.inf))


def wsd_ladder(model, groups: list[dict], train: torch.Tensor, heldout: tuple[torch.Tensor, torch.Tensor],
               budgets: tuple[int, ...], starts: torch.Tensor, seq: int, warmup: int, cooldown: float) -> dict[int, float]:
    """{budget: held-out loss after a run of exactly `budget` steps whose last `cooldown` fraction decays the
    step size linearly to zero}. Adam over `groups` (each with its own 'lr'); one main run at a constant step
    size after a linear warm-up of `warmup` steps, and the budget-S run forked from it at step
    S − round(cooldown·S). starts[t] are the window offsets of step t (S_max, batch): the main run and every
    fork read the same batches, so a fork is exactly the run its budget would have had on its own."""
    budgets = tuple(sorted(budgets))
    if len(starts) < budgets[-1]:
        raise ValueError(f"starts cover {len(starts)} steps, the longest budget needs {budgets[-1]}")
    base_lrs = [g["lr"] for g in groups]
    opt = torch.optim.Adam(groups, betas=ADAM_BETAS, eps=ADAM_EPS, fused=True)   # fused: one kernel per step (CPU too)

    def step(m, o, t: int, factor: float) -> None:
        for g, lr in zip(o.param_groups, base_lrs):
            g["lr"] = lr * factor
        o.zero_grad(set_to_none=True)
        m(*windows(train, starts[t], seq)).backward()
        o.step()

    forks = {b - round(cooldown * b): b for b in budgets}             # fork step -> the budget it finishes
    losses, t = {}, 0
    while forks:
        if t in forks:
            b = forks.pop(t)
            branch = copy.deepcopy(model)
            branch_opt = _clone_optimizer(opt, model, branch)
            for s in range(t, b):
                step(branch, branch_opt, s, wsd_lr(s, b, warmup, cooldown))
            with torch.no_grad():
                losses[b] = float(branch.eval()(*heldout))
            continue
        step(model, opt, t, min(1.0, (t + 1) / warmup))
        t += 1
    return losses


def _clone_optimizer(opt: torch.optim.Adam, model, branch) -> torch.optim.Adam:
    """An Adam over `branch`'s parameters with `opt`'s groups and moment estimates (branch is a deepcopy of
    model, so their parameters come in the same order)."""
    index = {id(p): i for i, p in enumerate(model.parameters())}
    params = list(branch.parameters())
    groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [params[index[id(p)]] for p in g["params"]]}
              for g in opt.param_groups]
    clone = torch.optim.Adam(groups, fused=True)
    clone.load_state_dict(copy.deepcopy(opt.state_dict()))
    return clone


def adam_step_stacked(params: dict, grads: dict, m1: dict, m2: dict, lr: dict, t: int) -> None:
    """One Adam step (PyTorch's update, no weight decay) on weights stacked along dim 0 (one row per copy).
    lr[name] is a (K,) tensor of step sizes; t is the 1-based step count. Updates params, m1, m2 in place."""
    b1, b2 = ADAM_BETAS
    for name, p in params.items():
        g = grads[name]
        m1[name].mul_(b1).add_(g, alpha=1 - b1)
        m2[name].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (m2[name] / (1 - b2 ** t)).sqrt_().add_(ADAM_EPS)
        step = lr[name].view(-1, *[1] * (p.dim() - 1)) / (1 - b1 ** t)
        p.sub_(step * m1[name] / denom)
