"""Combining the BM25 and the dense ranking into one.

Reciprocal-rank fusion (Cormack, Clarke & Büttcher 2009, "Reciprocal Rank Fusion outperforms Condorcet and
individual Rank Learning Methods", SIGIR) scores a document by its ranks alone:

    RRF(D) = Σ_r 1 / (k + rank_r(D)),   k = 60 (the paper's constant), ranks from 1

A retriever that did not retrieve D (BM25 with no shared term) contributes nothing. RRF is the default here
because the two scores live on unrelated scales: BM25 is unbounded and grows with query length, while MiniLM
cosines crowd into a narrow band (0.2–0.7) whose spread differs from query to query. Ranks need no
calibration and no weight tuned on the evaluation set.

`minmax_fusion` (each retriever's scores rescaled to [0, 1] per query, then summed: CombSUM after Fox & Shaw
1994) is kept for comparison; the evaluation test reports both.
"""
from __future__ import annotations

import numpy as np

RRF_K = 60


def ranking(scores: np.ndarray, retrieved: np.ndarray | None = None) -> np.ndarray:
    """Document indices from best to worst (stable on ties); only those in `retrieved` (a mask) if given."""
    order = np.argsort(-scores, kind="stable")
    if retrieved is not None:
        order = order[retrieved[order]]
    return order


def rrf(rankings: list[np.ndarray], n_docs: int, k: int = RRF_K) -> np.ndarray:
    """(n_docs,) reciprocal-rank-fusion scores from rankings (arrays of document indices, best first)."""
    out = np.zeros(n_docs)
    for order in rankings:
        out[order] += 1.0 / (k + np.arange(1, len(order) + 1))
    return out


def minmax_fusion(score_lists: list[np.ndarray], retrieved: list[np.ndarray | None]) -> np.ndarray:
    """(n_docs,) sum of per-retriever scores min-max scaled to [0, 1] over the retrieved documents."""
    out = np.zeros(len(score_lists[0]))
    for scores, mask in zip(score_lists, retrieved):
        mask = np.ones(len(scores), dtype=bool) if mask is None else mask
        if not mask.any():
            continue
        lo, hi = scores[mask].min(), scores[mask].max()
        out[mask] += (scores[mask] - lo) / (hi - lo) if hi > lo else 1.0
    return out
