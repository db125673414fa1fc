"""Top-k ranking and its metrics, from ranked lists.

    top_k(scores (U, n_items), seen (U, n_items) bool, k)  -> (U, k) item ids, best first, seen items excluded
    recall_ndcg(ranked (U, k), relevant (U, n_items) bool) -> per-user Recall@k and NDCG@k (U,), (U,)

Recall@k = |top k ∩ relevant| / |relevant|;  NDCG@k = Σ_{hits at position p (0-based)} 1 / log2(p + 2), divided
by the best possible value Σ_{p < min(|relevant|, k)} 1 / log2(p + 2) (binary relevance, Järvelin & Kekäläinen
2002). Users with no relevant item are left out of the averages. tests/recsys/test_metrics.py checks both against
torchmetrics' RetrievalRecall / RetrievalNormalizedDCG and scikit-learn's ndcg_score on the same lists.
"""
from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, seen: np.ndarray | None, k: int) -> np.ndarray:
    s = np.where(seen, -np.inf, scores) if seen is not None else scores
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def recall_ndcg(ranked: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = ranked.shape[1]
    hits = np.take_along_axis(relevant, ranked, 1).astype(np.float64)                   # (U, k)
    n_rel = relevant.sum(1)
    keep = n_rel > 0
    discount = 1 / np.log2(np.arange(k) + 2)
    ideal = np.cumsum(discount)[np.clip(n_rel, 1, k) - 1]
    return (hits.sum(1) / np.maximum(n_rel, 1))[keep], ((hits * discount).sum(1) / ideal)[keep]


def interaction_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> np.ndarray:
    m = np.zeros((n_users, n_items), dtype=bool)
    m[users, items] = True
    return m


def intra_list_distance(ranked: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """Per list: mean pairwise cosine distance 1 − cos between its items (emb rows L2-normalised)."""
    e = emb[ranked]                                                                      # (U, k, d)
    sim = np.einsum("ukd,ujd->ukj", e, e)
    k = ranked.shape[1]
    return 1 - (sim.sum((1, 2)) - k) / (k * (k - 1))
