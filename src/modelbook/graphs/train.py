"""Training node classifiers: full-batch (the whole graph per step) and neighbour-sampled mini-batches.

Full batch is written out rather than run through core.train.fit: one "batch" is the whole graph with the loss
on a mask of labelled nodes, so there is no loader to iterate, and the ~20-line loop keeps the selection rule
visible (the weights of the best validation epoch are kept, as Kipf & Welling select on validation).
Neighbour-sampled mini-batches ARE a loader: SampledBatches + sampled_loss plug into core.train.fit.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from modelbook.core.train import Callback
from modelbook.graphs.sampling import NeighborSampler


@dataclass
class FitResult:
    best_epoch: int
    best_val_acc: float
    history: list[tuple[float, float]] = field(default_factory=list)
    """(train loss, validation accuracy) per epoch"""


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean()) if len(y) else float("nan")


def node_accuracy(model: nn.Module, forward: Callable[[], torch.Tensor], y: torch.Tensor, idx: torch.Tensor) -> float:
    """Accuracy of `forward()` (N, C) logits on the nodes `idx`, with the model in eval mode (no dropout) and no
    gradients: the exact full-graph evaluation every model here is scored by."""
    model.eval()
    with torch.no_grad():
        return accuracy(forward()[idx], y[idx])


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


class SampledBatches:
    """An epoch of neighbour-sampled mini-batches, for core.train.fit: each batch is (seeds, x of the input
    nodes, blocks, labels of the seeds). Fresh neighbours are drawn every epoch from `rng`; only x[input_nodes]
    is read per step."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, sampler: NeighborSampler, train_idx: np.ndarray,
                 batch_size: int, rng: np.random.Generator):
        self.x, self.y, self.sampler, self.train_idx, self.batch_size, self.rng = x, y, sampler, train_idx, batch_size, rng

    def __iter__(self):
        perm = self.rng.permutation(self.train_idx)
        for s in range(0, len(perm), self.batch_size):
            seeds = perm[s:s + self.batch_size]
            input_nodes, blocks = self.sampler.sample(seeds, self.rng)
            yield seeds, self.x[torch.from_numpy(input_nodes)], blocks, self.y[torch.from_numpy(seeds)]


def sampled_loss(model: nn.Module, batch) -> torch.Tensor:
    """core.train.fit's loss_fn for SampledBatches."""
    _, x_in, blocks, y = batch
    return nn.functional.cross_entropy(model(x_in, blocks), y)


class FullGraphValidation(Callback):
    """core.train.fit callback: after each epoch, the exact (unsampled) accuracy of `forward()` (N, C) logits on
    the nodes `idx`, in eval mode, stored as state.logs[key] for EarlyStopping to select on. Sampled training
    validates on the whole graph, so the selection is not blurred by sampling noise."""

    def __init__(self, model: nn.Module, forward: Callable[[], torch.Tensor], y: torch.Tensor, idx: torch.Tensor,
                 key: str = "val_acc"):
        self.model, self.forward, self.y, self.idx, self.key = model, forward, y, idx, key

    def on_epoch_end(self, state) -> None:
        self.model.eval()
        with torch.no_grad():
            state.logs[self.key] = accuracy(self.forward()[self.idx], self.y[self.idx])
