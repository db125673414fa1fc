"""Mixed bit-width plans: one model, many per-layer schemes, and the blocks a size budget keeps at int8.

A plan maps every nn.Linear of a model (by name) to a scheme of qlinear.quantized ('fp32', 'int8', 'int4',
...). Scanning many plans on a large model (SmolLM2-135M: 211 Linears) should neither copy the model nor
quantize a layer twice: `PlanBench` quantizes each (layer, scheme) once, on first use, and applying a plan
swaps the cached modules in place. The output head's scheme also decides the tied input embedding, which
becomes a view on the quantized head (qlinear.QuantizedEmbedding), as quantize_linears does.

A sensitivity-guided plan (HAWQ, Dong et al. 2019; the usual mixed-precision practice): cut the decoder into
blocks of consecutive layers, measure the damage of putting each block alone at int4 (the rest int8), then
under a size budget keep the most damaged blocks at int8. Its control is the plan of the same size that keeps
the *least* damaged blocks at int8 (and, with many blocks, evenly spaced ones).

    PlanBench(model, names, group_size).apply(plan)
    block_plan(names, blocks, int4_blocks) -> plan;  int4_blocks_for(sensitivity, n_int8, rule) -> set of blocks
    block_sensitivity(bench, names, blocks, ids, window) -> KL to fp32 of each block alone at int4

Cross-checks: tests/compression/test_mixed.py (a plan applied by the bench computes what quantize_linears on
a copy computes, bit for bit; the guided choice equals a brute-force search over all block subsets).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from modelbook.compression.llm import score
from modelbook.compression.qlinear import QuantizedEmbedding, quantized


class PlanBench:
    """One model, many bit-width plans: every Linear is quantized once per scheme, and a plan swaps modules
    in place (no model copies). The tied embedding follows the output head."""

    def __init__(self, model: nn.Module, names: list[str], group_size: int):
        self.model, self.group_size = model, group_size
        self.original = {n: model.get_submodule(n) for n in names}
        self.embedding = model.get_input_embeddings()
        self.cache: dict[tuple[str, str], nn.Module] = {}

    def module(self, name: str, scheme: str) -> nn.Module:
        """The module for layer `name` under `scheme`: the original for 'fp32', else quantized once and cached."""
        if scheme == "fp32":
            return self.original[name]
        if (name, scheme) not in self.cache:
            self.cache[(name, scheme)] = quantized(self.original[name], scheme, self.group_size)
        return self.cache[(name, scheme)]

    def apply(self, plan: dict[str, str]) -> None:
        """Put the plan's module in place for every layer it names; plan['lm_head'] also sets the embedding."""
        for name, scheme in plan.items():
            parent, _, child = name.rpartition(".")
            setattr(self.model.get_submodule(parent) if parent else self.model, child, self.module(name, scheme))
        head = self.module("lm_head", plan["lm_head"])
        self.model.set_input_embeddings(self.embedding if plan["lm_head"] == "fp32" else QuantizedEmbedding(head))


def block_plan(names: list[str], blocks: Sequence[Sequence[int]], int4_blocks: set[int], prefix: str = "model.layers.",
               low: str = "int4", high: str = "int8") -> dict[str, str]:
    """The plan putting the decoder layers of `int4_blocks` (indices into `blocks`, each a list of layer numbers)
    at `low` and every other Linear (the other layers, the output head) at `high`. A layer's number is the
    path component after `prefix` ('model.layers.7.mlp.up_proj' is layer 7)."""
    low_layers = {int(layer) for b in int4_blocks for layer in blocks[b]}
    return {n: (low if n.startswith(prefix) and int(n[len(prefix):].split(".")[0]) in low_layers else high) for n in names}


def int4_blocks_for(sensitivity: Sequence[float], n_int8: int, rule: str = "most") -> set[int]:
    """The blocks left at int4 when `n_int8` of them stay int8, chosen by the measured sensitivity of each block:
    rule 'most' keeps the most sensitive at int8 (the guided plan), 'least' the least sensitive (its same-size
    control), 'even' evenly spaced blocks (ignoring the sensitivities). Ties in sensitivity go by np.argsort."""
    n = len(sensitivity)
    every = set(range(n))
    by_sensitivity = [int(b) for b in np.argsort(sensitivity)[::-1]]  # most sensitive first
    if rule == "most":
        return every - set(by_sensitivity[:n_int8])
    if rule == "least":
        return every - set(by_sensitivity[::-1][:n_int8])
    if rule == "even":
        return every - set(np.linspace(0, n - 1, n_int8).round().astype(int).tolist())
    raise ValueError(f"unknown rule {rule!r}: use most, least or even")


def block_sensitivity(bench: PlanBench, names: list[str], blocks: Sequence[Sequence[int]], ids: torch.Tensor,
                      window: int, track: Callable[[Iterable, str], Iterable] = lambda it, _label: it) -> list[float]:
    """The sensitivity scan: for each block, the mean per-token KL(fp32 ‖ plan) on ids (1, N) of the plan putting
    that block alone at int4 and every other Linear at int8 (llm.score over windows of `window` tokens). The
    bench is left on the last block's plan. `track(iterable, label)` may wrap the loop (a progress bar)."""
    model = bench.model
    bench.apply({n: "fp32" for n in names})
    reference = score(model, ids, window, keep=True)["logprobs"]
    sensitivity = []
    for b in track(range(len(blocks)), "sensitivity scan"):
        bench.apply(block_plan(names, blocks, {b}))
        sensitivity.append(score(model, ids, window, reference)["kl"])
    return sensitivity
