"""Training query embeddings on generated queries, and ranking hard answers.

Written out (not core.train.fit) because each step samples its own training signal: a query structure
(round robin over the training structures), a batch of queries of it, one answer per query and k entities
that are not answers. Evaluation ranks each HARD answer against the entities that are not answers at all
(easy and other hard answers are filtered out), per query, then averages over queries (Ren & Leskovec 2020).
"""
from __future__ import annotations

import numpy as np
import torch

from modelbook.multihop.models import negative_sampling_loss
from modelbook.multihop.queries import STRUCTURES, QuerySet


def train_queries(model, train_sets: dict[str, QuerySet], n_steps: int, batch_size: int, n_negatives: int, lr: float,
                  gen: torch.Generator) -> list[float]:
    """Adam on Query2Box's negative-sampling loss; returns the loss per step."""
    data = {k: (torch.from_numpy(q.anchors), torch.from_numpy(q.relations), torch.from_numpy(q.easy | q.hard))
            for k, q in train_sets.items() if len(q)}
    kinds = list(data)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for step in range(n_steps):
        kind = kinds[step % len(kinds)]
        anchors, relations, answers = data[kind]
        idx = torch.randint(len(anchors), (batch_size,), generator=gen)
        ans = answers[idx]                                                          # (B, N) bool
        pos = torch.multinomial(ans.float(), 1, generator=gen)                      # (B, 1): one answer each
        neg = torch.multinomial((~ans).float(), n_negatives, replacement=True, generator=gen)   # (B, k) non-answers
        node = STRUCTURES[kind]
        loss = negative_sampling_loss(model.logits(node, anchors[idx], relations[idx], pos).squeeze(1),
                                      model.logits(node, anchors[idx], relations[idx], neg))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


def hard_answer_ranks(logits: torch.Tensor, easy: np.ndarray, hard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query index, realistic rank) of every hard answer; logits (B, N). Other answers never outrank it."""
    answers = torch.from_numpy(easy | hard)
    filtered = logits.double().masked_fill(answers, float("-inf"))                 # non-answers only
    q, a = np.nonzero(hard)
    q_t, a_t = torch.from_numpy(q), torch.from_numpy(a)
    true = logits.double()[q_t, a_t][:, None]                                       # (P, 1)
    higher = (filtered[q_t] > true).sum(1).double()
    ties = (filtered[q_t] == true).sum(1).double()
    return q, (1 + higher + ties / 2).numpy()


def per_query_metrics(query_index: np.ndarray, ranks: np.ndarray, n_queries: int) -> dict[str, float]:
    """MRR and Hits@1/3/10 averaged over each query's hard answers, then over queries."""
    out = {}
    counts = np.bincount(query_index, minlength=n_queries)
    for name, values in (("mrr", 1.0 / ranks), ("hits@1", ranks <= 1), ("hits@3", ranks <= 3), ("hits@10", ranks <= 10)):
        per_query = np.bincount(query_index, weights=values.astype(float), minlength=n_queries) / np.maximum(counts, 1)
        out[name] = float(per_query[counts > 0].mean())
    return out


@torch.no_grad()
def evaluate_queries(model, qs: QuerySet) -> dict[str, float]:
    logits = model.logits(STRUCTURES[qs.kind], torch.from_numpy(qs.anchors), torch.from_numpy(qs.relations))
    q, ranks = hard_answer_ranks(logits, qs.easy, qs.hard)
    return per_query_metrics(q, ranks, len(qs))


def random_ranker_metrics(qs: QuerySet) -> dict[str, float]:
    """Exact expectation for scores in random order: a hard answer's rank is uniform on 1..M with M = the number
    of non-answers + 1, so E[1/rank] = H_M / M and P(rank ≤ k) = min(k, M) / M."""
    n = qs.easy.shape[1]
    m = n - (qs.easy | qs.hard).sum(1) + 1                                          # (B,)
    harmonic = np.array([np.sum(1.0 / np.arange(1, k + 1)) for k in m])
    return {"mrr": float(np.mean(harmonic / m)), "hits@1": float(np.mean(1.0 / m)),
            "hits@3": float(np.mean(np.minimum(3, m) / m)), "hits@10": float(np.mean(np.minimum(10, m) / m))}
