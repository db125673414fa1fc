"""Structured pruning: remove whole neurons, channels or attention heads, so the model is really smaller.

Unstructured sparsity leaves the tensor shapes alone; a dense kernel multiplies the zeros anyway. Removing a
whole unit shrinks the matrices, so every kernel does less work with no special support:

  neuron j of a hidden Linear layer:  row j of W_l (and b_l[j]) and column j of W_{l+1}
  channel c of a Conv2d:              filter c (and its bias / BatchNorm entries) and input channel c of the
                                      next conv, or the H·W input columns of c in the Linear after Flatten
  attention head h:                   rows h·d..(h+1)·d of W_Q, W_K, W_V (and biases) and the same columns
                                      of the output projection W_O

Which units to drop: filters with the smallest L1 norm (Li et al. 2017, "Pruning Filters for Efficient
ConvNets"); neurons by the L2 norm of their incoming weights; heads by the measured loss of quality when the
head alone is switched off (ablation, as in Michel, Levy & Neubig 2019, "Are Sixteen Heads Really Better
than One?", who found many heads can go at little cost).

`head_importance` scores heads by |∂loss/∂gate| (Michel et al.'s first-order estimate, cheaper than one
ablation per head), here for an in-batch contrastive question -> answer loss. `head_gates` picks the heads to remove from a ranking (keeping at least one per layer). `shrink_linear`
equals transformers' `prune_linear_layer`, and removing heads equals gating them to zero
(tests/compression/test_structured.py).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def shrink_linear(layer: nn.Linear, index: torch.Tensor, dim: int) -> nn.Linear:
    """A new Linear keeping only `index` along dim 0 (output features) or dim 1 (input features)."""
    index = index.to(torch.long)
    w = layer.weight.detach().index_select(dim, index).clone()
    b = None
    if layer.bias is not None:
        b = layer.bias.detach()[index].clone() if dim == 0 else layer.bias.detach().clone()
    new = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        new.weight.copy_(w)
        if b is not None:
            new.bias.copy_(b)
    return new


def shrink_conv(conv: nn.Conv2d, index: torch.Tensor, dim: int) -> nn.Conv2d:
    """A new Conv2d keeping only `index` along dim 0 (output channels) or dim 1 (input channels)."""
    index = index.to(torch.long)
    w = conv.weight.detach().index_select(dim, index).clone()  # (C_out, C_in, kH, kW)
    b = None
    if conv.bias is not None:
        b = conv.bias.detach()[index].clone() if dim == 0 else conv.bias.detach().clone()
    new = nn.Conv2d(w.shape[1], w.shape[0], conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    bias=b is not None)
    with torch.no_grad():
        new.weight.copy_(w)
        if b is not None:
            new.bias.copy_(b)
    return new


def shrink_batchnorm(bn: nn.modules.batchnorm._BatchNorm, index: torch.Tensor) -> nn.modules.batchnorm._BatchNorm:
    """A BatchNorm1d/2d over the kept channels only."""
    new = type(bn)(len(index), bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            src = getattr(bn, name)
            if src is not None:
                getattr(new, name).copy_(src.detach()[index])
        if bn.num_batches_tracked is not None:
            new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new


def unit_scores(layer: nn.Module, norm: int = 1) -> torch.Tensor:
    """Importance of each output unit: the L_p norm of its incoming weights (a filter for Conv2d)."""
    return layer.weight.detach().flatten(1).norm(p=norm, dim=1)


def kept_units(widths: tuple[int, ...], keep_fraction: float) -> tuple[int, ...]:
    """How many units of each hidden layer prune_sequential keeps: round(keep_fraction · width), at least one."""
    return tuple(max(1, round(keep_fraction * w)) for w in widths)


def prune_sequential(model: nn.Sequential, keep_fraction: float | dict[int, float], norm: int = 1) -> nn.Sequential:
    """A smaller copy of a Sequential CNN/MLP: in every hidden Conv2d/Linear (not the last layer) keep the
    `keep_fraction` of units with the largest L_p norm, and cut the matching inputs of the next weighted
    layer (through BatchNorm, activations, pooling, dropout and Flatten). `keep_fraction` may map layer
    positions in the Sequential to fractions."""
    layers = list(model)
    weighted = [i for i, m in enumerate(layers) if isinstance(m, (nn.Conv2d, nn.Linear))]
    new_layers = [m for m in layers]
    for pos, i in enumerate(weighted[:-1]):  # the output layer keeps its classes
        frac = keep_fraction.get(i, 1.0) if isinstance(keep_fraction, dict) else keep_fraction
        layer = new_layers[i]
        n_keep = kept_units((layer.weight.shape[0],), frac)[0]
        keep = torch.sort(torch.topk(unit_scores(layer, norm), n_keep).indices).values
        new_layers[i] = shrink_conv(layer, keep, 0) if isinstance(layer, nn.Conv2d) else shrink_linear(layer, keep, 0)
        spatial = None  # H·W per channel, once a Flatten sits between a conv and a Linear
        for j in range(i + 1, weighted[pos + 1] + 1):
            m = new_layers[j]
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                new_layers[j] = shrink_batchnorm(m, keep)
            elif isinstance(m, nn.Flatten):
                spatial = layers[weighted[pos + 1]].in_features // layer.weight.shape[0]
            elif j == weighted[pos + 1]:
                if isinstance(m, nn.Conv2d):
                    new_layers[j] = shrink_conv(m, keep, 1)
                else:  # Linear: after Flatten, channel c owns input columns c·HW .. (c+1)·HW − 1
                    cols = keep if spatial is None else (keep[:, None] * spatial + torch.arange(spatial)).reshape(-1)
                    new_layers[j] = shrink_linear(m, cols, 1)
    return nn.Sequential(*new_layers)


# -- attention heads (modelbook.nn.bert.BertEncoder, e.g. all-MiniLM-L6-v2) ----------------------------
@torch.no_grad()
def remove_heads_(encoder, heads: dict[int, list[int]]) -> None:
    """Physically remove attention heads {layer: [head, ...]} from a BertEncoder in place (≥ 1 head stays):
    rows h·d..(h+1)·d of W_Q, W_K, W_V and the same columns of W_O go; each layer keeps its own head count."""
    for i, layer in enumerate(encoder.layers):
        drop = sorted(set(heads.get(i, [])))
        if not drop:
            continue
        d = layer.head_dim
        keep_heads = [h for h in range(layer.n_heads) if h not in drop]
        if not keep_heads:
            raise ValueError(f"layer {i}: cannot remove all {layer.n_heads} heads")
        index = torch.cat([torch.arange(h * d, (h + 1) * d) for h in keep_heads])
        layer.query, layer.key, layer.value = (shrink_linear(m, index, 0) for m in (layer.query, layer.key, layer.value))
        layer.out = shrink_linear(layer.out, index, 1)
        layer.n_heads = len(keep_heads)


def head_parameters(d_model: int, d_head: int) -> int:
    """Parameters of one attention head: d_head rows (and biases) of W_Q, W_K, W_V, d_head columns of W_O."""
    return 4 * d_model * d_head + 3 * d_head


def head_gates(order: list[int], k: int, n_layers: int, n_heads: int) -> torch.Tensor:
    """Gates (n_layers, n_heads) in {0, 1} switching off the first k heads of `order` (flat indices
    layer · n_heads + head, e.g. least important first), skipping any head whose removal would leave its layer
    empty; remove_heads_ then removes the zero-gated heads. Fewer than k go if the order runs out."""
    gates = torch.ones(n_layers, n_heads)
    removed = 0
    for idx in order:
        layer, h = divmod(idx, n_heads)
        if removed == k:
            break
        if gates[layer].sum() > 1:
            gates[layer, h] = 0
            removed += 1
    return gates


def head_importance(embed: Callable[[list[str], torch.Tensor], torch.Tensor], queries: list[str], answers: list[str],
                    n_layers: int, n_heads: int, temperature: float) -> torch.Tensor:
    """Head importance (n_layers, n_heads) after Michel, Levy & Neubig 2019: |∂L/∂ξ_h| for a gate ξ_h = 1 on
    each head, L the in-batch contrastive loss cross_entropy(E_q E_aᵀ / temperature, arange(N)) of N
    (query, answer) pairs: a first-order estimate of the loss change if head h is removed. embed(texts, gates)
    returns the (N, D) embeddings of texts with the heads scaled by gates (n_layers, n_heads)."""
    gates = torch.ones(n_layers, n_heads, requires_grad=True)
    eq, ea = embed(queries, gates), embed(answers, gates)
    F.cross_entropy(eq @ ea.T / temperature, torch.arange(len(queries))).backward()
    return gates.grad.abs()
