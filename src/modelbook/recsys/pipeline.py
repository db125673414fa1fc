"""The industrial shape: candidate retrieval → ranking → re-ranking, each stage timed.

    retrieval  a cheap model scores every item (here two-tower cosines: one matrix product, in production an
               approximate nearest-neighbour index) and keeps the top C candidates
    ranking    a costlier model scores only those C (here the BPR matrix factorisation) and keeps the top R
    re-rank    Maximal Marginal Relevance (Carbonell & Goldstein, SIGIR 1998) picks k of the R greedily,
               trading relevance for diversity:
                   next = argmax_{i ∉ S} λ rel(i) − (1 − λ) max_{j ∈ S} cos(e_i, e_j)
               with rel min-max scaled to [0, 1] within the user's R, and e the MiniLM item embeddings.
"""
from __future__ import annotations

import time

import numpy as np

from modelbook.recsys.metrics import top_k


def mmr(candidates: np.ndarray, relevance: np.ndarray, emb: np.ndarray, k: int, lam: float) -> np.ndarray:
    """candidates (U, R) item ids, relevance (U, R) -> (U, k) item ids chosen by MMR, for all users at once."""
    U, R = candidates.shape
    lo, hi = relevance.min(1, keepdims=True), relevance.max(1, keepdims=True)
    rel = (relevance - lo) / np.maximum(hi - lo, 1e-12)
    e = emb[candidates]                                                                  # (U, R, d)
    sim = np.einsum("urd,usd->urs", e, e)                                                # (U, R, R)
    chosen = np.zeros((U, k), dtype=np.int64)
    max_sim = np.full((U, R), -np.inf)
    taken = np.zeros((U, R), dtype=bool)
    rows = np.arange(U)
    for step in range(k):
        div = np.where(np.isfinite(max_sim), max_sim, 0.0)
        score = np.where(taken, -np.inf, lam * rel - (1 - lam) * div)
        pick = score.argmax(1)
        chosen[:, step] = pick
        taken[rows, pick] = True
        max_sim = np.maximum(max_sim, sim[rows, pick])
    return np.take_along_axis(candidates, chosen, 1)


def staged(retrieve_scores, rank_scores, emb: np.ndarray, seen: np.ndarray, n_candidates: int, n_ranked: int,
           k: int, lam: float) -> dict:
    """Run the three stages for all users; returns each stage's lists and seconds per user.

    retrieve_scores() -> (U, n_items); rank_scores(candidates (U, C)) -> (U, C)."""
    U = seen.shape[0]
    t0 = time.perf_counter()
    cand = top_k(retrieve_scores(), seen, n_candidates)                                  # (U, C)
    t1 = time.perf_counter()
    s = rank_scores(cand)
    order = np.argsort(-s, axis=1, kind="stable")[:, :n_ranked]
    ranked, ranked_s = np.take_along_axis(cand, order, 1), np.take_along_axis(s, order, 1)
    t2 = time.perf_counter()
    final = mmr(ranked, ranked_s, emb, k, lam)
    t3 = time.perf_counter()
    return {"candidates": cand, "ranked": ranked, "final": final,
            "seconds_per_user": {"retrieval": (t1 - t0) / U, "ranking": (t2 - t1) / U, "rerank": (t3 - t2) / U}}
