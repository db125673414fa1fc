"""Training loops of the meta-learners: the sinusoid learners (MAML, first-order MAML, Reptile, pretraining) on
parameter dicts, episodic training (ProtoNets, the attention learner) and MAML on glyph episodes.

Every loop takes its sizes as arguments and draws everything from the generator it is given, so the same call
gives the same parameters.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from modelbook.meta import episodes as ep_mod
from modelbook.meta import maml
from modelbook.meta import sinusoid as sine


def train_sine(method: str, gen: torch.Generator, *, net: tuple[int, ...], iters: int, meta_batch: int, k_shot: int,
               inner_lr: float, outer_lr: float, reptile_steps: int, grad_clip: float = 0.0,
               lr_tail: float = 0.0) -> maml.Params:
    """Train one sinusoid learner ("maml", "fomaml", "reptile" or "pretrained") with Adam on the outer gradient.

    grad_clip > 0 rescales the outer gradient to norm ≤ grad_clip (a rare large meta-gradient derails Adam);
    lr_tail > 0 anneals the step size linearly to a tenth over that last share of the steps."""
    loss = maml.mse(maml.mlp_forward)
    params, state = maml.mlp_init(net, gen), {}
    tail = int(lr_tail * iters)
    for it in range(iters):
        tb = sine.sample_tasks(meta_batch, k_shot, k_shot, gen)
        if method in ("maml", "fomaml"):
            g, _ = maml.maml_meta_gradient(loss, params, tb.x_support, tb.y_support, tb.x_query, tb.y_query,
                                           inner_lr, 1, order=2 if method == "maml" else 1)
        elif method == "reptile":
            x = torch.cat([tb.x_support, tb.x_query], 1)  # Reptile trains on all 2K points of the task
            y = torch.cat([tb.y_support, tb.y_query], 1)
            direction = maml.reptile_direction(loss, params, x, y, inner_lr, reptile_steps)
            g = {k: v / (inner_lr * reptile_steps) for k, v in direction.items()}
        else:  # pretrained on all tasks: plain regression on the pooled points of the batch
            x = torch.cat([tb.x_support, tb.x_query], 1)
            y = torch.cat([tb.y_support, tb.y_query], 1)
            g = torch.func.grad(lambda p: loss(p, x, y))(params)
        if grad_clip:
            norm = torch.sqrt(sum((v ** 2).sum() for v in g.values()))
            if norm > grad_clip:
                g = {k: v * (grad_clip / norm) for k, v in g.items()}
        anneal = 1.0 - 0.9 * max(0, it - (iters - tail) + 1) / tail if tail else 1.0
        params = maml.adam_step(params, g, state, outer_lr * anneal)
    return params


def train_episodic(model, logits_fn, data, gen, *, iters: int, episodes: int, n_way: int, shot: int,
                   n_query: int) -> float:
    """Episodic training with cross-entropy on the query logits (Adam 1e-3); returns the CPU seconds it took."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    c0 = time.process_time()
    for _ in range(iters):
        ep = ep_mod.sample(data, episodes, n_way, shot, n_query, gen)
        loss = F.cross_entropy(logits_fn(model, ep).flatten(0, 1), ep.query_labels.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.process_time() - c0


def glyph_loss(model):
    """Cross-entropy of `model` called with a parameter dict (torch.func.functional_call)."""
    def loss(params, x, y):
        return F.cross_entropy(torch.func.functional_call(model, params, (x,)), y)
    return loss


def train_maml_glyphs(model, data, gen, *, iters: int, episodes: int, n_way: int, shot: int, n_query: int,
                      inner_lr: float, inner_steps: int) -> float:
    """Second-order MAML on glyph episodes (Adam 1e-3 on the meta-gradient); returns the CPU seconds it took."""
    loss = glyph_loss(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    c0 = time.process_time()
    for _ in range(iters):
        ep = ep_mod.sample(data, episodes, n_way, shot, n_query, gen)
        params = dict(model.named_parameters())
        g, _ = maml.maml_meta_gradient(loss, params, ep.support, ep.support_labels, ep.query, ep.query_labels,
                                       inner_lr, inner_steps, order=2)
        for k, p in model.named_parameters():
            p.grad = g[k]
        opt.step()
    return time.process_time() - c0


def maml_glyph_logits(model, ep, lr: float, steps: int) -> torch.Tensor:
    """Query logits of every episode after `steps` first-order adaptation steps on its support set (vmapped)."""
    loss = glyph_loss(model)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def one(xs, ys, xq):
        p = maml.adapt(loss, params, xs, ys, lr, steps, first_order=True)
        return torch.func.functional_call(model, p, (xq,))
    return torch.vmap(one)(ep.support, ep.support_labels, ep.query)
