"""Two-tower retrieval trained with sampled softmax over in-batch negatives (Yi et al., RecSys 2019).

A user tower and an item tower map ids (and item genres) to L2-normalised vectors; the score is their cosine
over a temperature. Softmax over every item would cost O(n_items) per example; with in-batch negatives each
positive (u, i) in a batch of B pairs is classified against the other B − 1 items of the batch:

    logits[a, b] = cos(u_a, v_b) / τ − log Q(i_b),      loss = cross_entropy(logits, diagonal)

Items enter batches in proportion to their popularity, so popular items are over-used as negatives; subtracting
log Q(i) (the item's sampling probability, here its share of training pairs) is the logQ correction that makes
the sampled softmax an unbiased estimate of the full one (Bengio & Senécal 2008; Yi et al. 2019, eq. 3).
Serving: item vectors are computed once; a user's top items are a maximum-inner-product search over them.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Tower(nn.Module):
    def __init__(self, n_ids: int, dim: int, side: torch.Tensor | None = None, hidden: int = 64):
        super().__init__()
        self.emb = nn.Embedding(n_ids, dim)
        nn.init.normal_(self.emb.weight, std=0.1)
        self.register_buffer("side", side if side is not None else torch.zeros(n_ids, 0))
        self.mlp = nn.Sequential(nn.Linear(dim + self.side.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.emb(ids), self.side[ids]], 1)
        return F.normalize(self.emb(ids) + self.mlp(x), dim=1)                         # residual MLP, unit vectors


class TwoTower(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int = 32, item_features: torch.Tensor | None = None,
                 temperature: float = 0.1):
        super().__init__()
        self.user_tower, self.item_tower, self.tau = Tower(n_users, dim), Tower(n_items, dim, item_features), temperature

    def scores(self, users: torch.Tensor) -> torch.Tensor:
        """(U,) -> (U, n_items) cosine scores against every item."""
        return self.user_tower(users) @ self.item_tower(torch.arange(self.item_tower.emb.num_embeddings)).T


def in_batch_softmax_loss(model: TwoTower, users: torch.Tensor, items: torch.Tensor, log_q: torch.Tensor | None) -> torch.Tensor:
    logits = model.user_tower(users) @ model.item_tower(items).T / model.tau            # (B, B)
    if log_q is not None:
        logits = logits - log_q[items][None, :]
    same = items[None, :] == items[:, None]                                               # the same item twice in a batch
    logits = logits.masked_fill(same & ~torch.eye(len(items), dtype=torch.bool), -torch.inf)  # is not a negative
    return F.cross_entropy(logits, torch.arange(len(items)))


def train_two_tower(model: TwoTower, users: np.ndarray, items: np.ndarray, epochs: int, batch: int, lr: float,
                    seed: int, logq: bool = True) -> list[float]:
    from modelbook.core.train import fit
    from modelbook.data.splits import tensor_loader

    counts = np.bincount(items, minlength=model.item_tower.emb.num_embeddings) + 1
    log_q = torch.log(torch.from_numpy(counts / counts.sum()).float()) if logq else None
    loader = tensor_loader(torch.from_numpy(users), torch.from_numpy(items), batch, shuffle=True, seed=seed)
    state = fit(model, loader, torch.optim.Adam(model.parameters(), lr=lr), epochs,
                loss_fn=lambda m, b: in_batch_softmax_loss(m, b[0], b[1], log_q), description="two-tower")
    return [h["train_loss"] for h in state.history]
