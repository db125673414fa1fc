"""Implicit-feedback ranking: matrix factorisation trained with BPR and three ways to sample negatives.

Implicit feedback (a user watched, clicked or rated an item) only gives positives; everything else is a mix
of "not interested" and "never saw it". Bayesian Personalised Ranking (Rendle, Freudenthaler, Gantner &
Schmidt-Thieme, UAI 2009, eq. 7) learns from triples (u, i, j), i an item the user interacted with and j one
they did not, and pushes the positive above the negative:

    L = − mean log σ(s(u, i) − s(u, j)),     s(u, i) = p_u · q_i + b_i        (matrix factorisation scores)

Scoring all n_items negatives per positive would be exact but costs O(n_items) per step; sampling a few is
where negative sampling belongs — implicit feedback and large output spaces (word2vec's negative sampling,
sampled softmax over big vocabularies), not ordinary class imbalance. How j is drawn matters:

    uniform     j ~ U(items)                                          Rendle et al. 2009
    popularity  j ~ count(j)^0.75 / Σ count^0.75  (word2vec's unigram^0.75, Mikolov et al. 2013): popular
                items become negatives more often, which fights popularity bias but also punishes the items
                users do like most
    hard (DNS)  draw m candidates uniformly, keep the one the current model scores highest (dynamic negative
                sampling, Zhang, Chen, Wang & Yu, SIGIR 2013): uniform negatives are soon "too easy"
                (σ(s_i − s_j) ≈ 1, no gradient); hard ones keep the gradient alive

Evaluation: a random 20% of each user's interactions is held out; every item the user has not interacted
with in training is ranked, and Recall@K and NDCG@K score where the held-out items land.

    mf = MatrixFactorization(n_users, n_items, dim)       scores (B,) for pairs, (B, n_items) for all items
    MostPopular(n_users, n_items, counts)                 the non-personalised baseline: everyone gets the top sellers
    bpr_loss(pos (B,), neg (B,))
    uniform_negatives / popularity_negatives / hard_negatives
    ranking_metrics(mf, (train users, items), (test users, items), k)
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class MatrixFactorization(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int = 32, init_std: float = 0.1):
        super().__init__()
        self.users = nn.Embedding(n_users, dim)
        self.items = nn.Embedding(n_items, dim)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.users.weight, std=init_std)
        nn.init.normal_(self.items.weight, std=init_std)
        nn.init.zeros_(self.item_bias.weight)

    def score(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        """u (B,), i (B,) or (B, M) -> scores (B,) or (B, M)."""
        p = self.users(u)                                              # (B, d)
        if i.dim() == 2:
            return torch.einsum("bd,bmd->bm", p, self.items(i)) + self.item_bias(i).squeeze(-1)
        return (p * self.items(i)).sum(-1) + self.item_bias(i).squeeze(-1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u (B,) -> scores of every item (B, n_items)."""
        return self.users(u) @ self.items.weight.T + self.item_bias.weight.T


class MostPopular(MatrixFactorization):
    """The non-personalised baseline: every user's scores are the items' interaction counts (n_items,), so each
    user is offered the most popular items they have not seen. A MatrixFactorization (dim 1, unused) only so that
    ranking_metrics takes it as it takes a trained model."""

    def __init__(self, n_users: int, n_items: int, counts: torch.Tensor):
        super().__init__(n_users, n_items, 1)
        self.counts = counts

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.counts.double()[None].expand(len(u), -1).clone()


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(pos - neg).mean()


def uniform_negatives(n_items: int, size: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, n_items, (size,), generator=generator)


def popularity_negatives(counts: torch.Tensor, size: int, generator: torch.Generator, power: float = 0.75) -> torch.Tensor:
    probs = counts.double() ** power
    return torch.multinomial(probs / probs.sum(), size, replacement=True, generator=generator)


@torch.no_grad()
def hard_negatives(model: MatrixFactorization, users: torch.Tensor, n_items: int, n_candidates: int,
                   generator: torch.Generator) -> torch.Tensor:
    """For each user, the highest-scoring of n_candidates uniform draws (DNS). users (B,) -> items (B,)."""
    cand = torch.randint(0, n_items, (len(users), n_candidates), generator=generator)     # (B, m)
    best = model.score(users, cand).argmax(dim=1)                                           # (B,)
    return cand.gather(1, best[:, None]).squeeze(1)


@torch.no_grad()
def ranking_metrics(model: MatrixFactorization, train_pairs: tuple[np.ndarray, np.ndarray],
                    test_pairs: tuple[np.ndarray, np.ndarray], k: int = 20, batch: int = 256) -> dict[str, float]:
    """Recall@k and NDCG@k over held-out (user, item) pairs, averaged over users with a held-out item.

    Every item is ranked except the user's training items (masked): recall@k = held-out items in the top k /
    held-out items; NDCG@k = Σ_{hits} 1 / log2(position + 2), divided by its best possible value."""
    model.eval()
    n_users = model.users.num_embeddings
    train_u, train_i = (torch.as_tensor(a) for a in train_pairs)
    test_u, test_i = (torch.as_tensor(a) for a in test_pairs)
    discount = 1 / torch.log2(torch.arange(k, dtype=torch.float64) + 2)                  # (k,)
    recalls, ndcgs = [], []
    for start in range(0, n_users, batch):
        users = torch.arange(start, min(start + batch, n_users))
        scores = model(users)                                                              # (B, n_items)
        rows = (train_u >= start) & (train_u < start + len(users))
        scores[train_u[rows] - start, train_i[rows]] = -torch.inf                          # never rank what was seen
        relevant = torch.zeros_like(scores, dtype=torch.bool)
        rows = (test_u >= start) & (test_u < start + len(users))
        relevant[test_u[rows] - start, test_i[rows]] = True
        n_rel = relevant.sum(1)                                                            # (B,)
        hits = relevant.gather(1, scores.topk(k, dim=1).indices).double()                  # (B, k)
        ideal = torch.cumsum(discount, 0)[(n_rel.clamp(1, k) - 1)]                         # (B,)
        keep = n_rel > 0
        recalls.append((hits.sum(1) / n_rel.clamp(min=1))[keep])
        ndcgs.append(((hits * discount).sum(1) / ideal)[keep])
    return {f"recall@{k}": float(torch.cat(recalls).mean()), f"ndcg@{k}": float(torch.cat(ndcgs).mean())}
