"""Training node classifiers: full-batch (the whole graph per step) and neighbour-sampled mini-batches.

Why not core.train.fit: in full-batch node classification one "batch" is the whole graph and the loss is
taken on a mask of labelled nodes, so there is no data loader to iterate; the mini-batch variant iterates over
sampled blocks rather than (x, y) pairs. Both loops are ~20 lines and keep the selection rule visible:
the weights kept are those of the epoch with the best validation accuracy (Kipf & Welling select on
validation too).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from modelbook.graphs.sampling import NeighborSampler


@dataclass
class FitResult:
    best_epoch: int
    best_val_acc: float
    history: list[tuple[float, float]] = field(default_factory=list)
    """(train loss, validation accuracy) per epoch"""


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean()) if len(y) else float("nan")


def fit_full_batch(model: nn.Module, forward: Callable[[], torch.Tensor], y: torch.Tensor, train_idx: torch.Tensor,
                   val_idx: torch.Tensor | None, n_epochs: int, lr: float = 0.01, weight_decay: float = 5e-4,
                   patience: int | None = None) -> FitResult:
    """Adam on cross-entropy over the training nodes; `forward()` returns (N, C) logits for every node.
    Restores the weights of the best-validation epoch and stops after `patience` epochs without improvement;
    with val_idx=None it trains all epochs and keeps the last weights."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best = FitResult(-1, -1.0)
    best_state = None
    for epoch in range(n_epochs):
        model.train()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(forward()[train_idx], y[train_idx])
        loss.backward()
        opt.step()
        if val_idx is None:
            best.history.append((loss.item(), float("nan")))
            continue
        model.eval()
        with torch.no_grad():
            val_acc = accuracy(forward()[val_idx], y[val_idx])
        best.history.append((loss.item(), val_acc))
        if val_acc > best.best_val_acc:
            best.best_epoch, best.best_val_acc = epoch, val_acc
            best_state = copy.deepcopy(model.state_dict())
        elif patience is not None and epoch - best.best_epoch >= patience:
            break
    if val_idx is None:
        best.best_epoch = n_epochs - 1
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return best


def fit_sampled(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sampler: NeighborSampler, train_idx: np.ndarray,
                n_epochs: int, batch_size: int, rng: np.random.Generator, lr: float = 0.01,
                weight_decay: float = 5e-4, validate: Callable[[], float] | None = None) -> FitResult:
    """One pass over the shuffled training nodes per epoch, one sampled mini-batch per `batch_size` seeds; only
    x[input_nodes] is read per step. `validate()` (validation accuracy, the model in eval mode) is called after
    each epoch and the best epoch's weights are restored, as in fit_full_batch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best = FitResult(n_epochs - 1, float("nan"))
    best_state = None
    for epoch in range(n_epochs):
        model.train()
        perm = rng.permutation(train_idx)
        total = 0.0
        for s in range(0, len(perm), batch_size):
            seeds = perm[s:s + batch_size]
            input_nodes, blocks = sampler.sample(seeds, rng)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[torch.from_numpy(input_nodes)], blocks), y[torch.from_numpy(seeds)])
            loss.backward()
            opt.step()
            total += loss.item() * len(seeds)
        model.eval()
        val_acc = validate() if validate is not None else float("nan")
        best.history.append((total / len(perm), val_acc))
        if validate is not None and not val_acc <= best.best_val_acc:  # also true for the first epoch (nan)
            best.best_epoch, best.best_val_acc = epoch, val_acc
            best_state = copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return best
