"""Sanity checks for saliency maps (Adebayo et al. 2018): does the explanation depend on the model at all?

Cascading model randomisation: re-initialise the layers one at a time from the output back to the input and
recompute the attribution after each step. An explanation that still looks the same when the weights it is
supposed to explain are random is explaining the input (edges, bright pixels), not the model. Similarity is
measured by the Spearman rank correlation between the original and the randomised maps (of |attribution| and
of the signed attribution), per image, averaged.

Adebayo et al. found plain gradients pass (the maps decorrelate), while Guided Backprop barely changes, and
gradient ⊙ input / Integrated Gradients keep part of their look because they multiply by the input itself.
The similarity of a map to the input image is therefore reported beside it.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over the batch of the Spearman correlation between a[i] and b[i] flattened. (B, ...) each."""
    values = [spearmanr(x.flatten().numpy(), y.flatten().numpy()).statistic for x, y in zip(a, b)]
    return float(np.nanmean(values))


def randomize_layer(layer: nn.Module, seed: int) -> None:
    """Re-draw a layer's weights from its own initialiser (reset_parameters), with a fixed seed, in place."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer.reset_parameters()


def cascading_randomization(model: nn.Module, layer_names: list[str], attribute: Callable[[nn.Module], torch.Tensor],
                            seed: int = 0) -> list[tuple[str, torch.Tensor]]:
    """[(layer name, attribution map after randomising it and every layer above it)], top layer first.

    layer_names: the model's parametrised layers, from the output to the input. attribute(model) → (B, ...)."""
    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    maps = []
    for i, name in enumerate(layer_names):
        randomize_layer(modules[name], seed + i)
        maps.append((name, attribute(model)))
    return maps
