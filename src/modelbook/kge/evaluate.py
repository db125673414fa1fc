"""Filtered rank-based evaluation of link prediction (Bordes et al. 2013's protocol), from scratch.

For each test triple (h, r, t), score every entity as the tail of (h, r, ?) and as the head of (?, r, t).
"Filtered": any other entity e for which (h, r, e) is a KNOWN triple (train, validation or test) is removed
from the ranking, so a model is not punished for ranking another correct answer first. Then

    optimistic rank  = 1 + #{candidates scoring strictly higher than the true entity}
    pessimistic rank =     #{candidates scoring at least as high (the true entity included)}
    realistic rank   = (optimistic + pessimistic) / 2     the expected rank when ties are broken at random

    MRR = mean 1/rank,   Hits@k = share of ranks ≤ k,   MR = mean rank;  "both" pools head and tail ranks.

Ties matter: a model that gives every entity the same score has optimistic rank 1 (MRR 1.0!) but realistic
rank (N+1)/2; reporting the optimistic rank is a classic way to publish inflated numbers (Sun et al., ACL 2020,
"A Re-evaluation of Knowledge Graph Completion Methods"). PyKEEN's default is the realistic rank; so is ours.

Cross-check: tests/kge/test_evaluate.py (equal to pykeen.evaluation.RankBasedEvaluator on identical score
matrices: every rank type, both sides, MRR / Hits@1,3,10 / MR, to 1e-6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

RANK_TYPES = ("optimistic", "realistic", "pessimistic")
SIDES = ("head", "tail", "both")


@dataclass(frozen=True)
class Ranks:
    """Per test triple, per side: (n,) float64 ranks of each type."""
    head: dict[str, np.ndarray]
    tail: dict[str, np.ndarray]

    def side(self, side: str) -> dict[str, np.ndarray]:
        if side == "both":
            return {k: np.concatenate([self.head[k], self.tail[k]]) for k in RANK_TYPES}
        return self.head if side == "head" else self.tail

    def metrics(self, side: str = "both", rank_type: str = "realistic", ks=(1, 3, 10)) -> dict[str, float]:
        r = self.side(side)[rank_type]
        out = {"mrr": float(np.mean(1.0 / r)), "mr": float(np.mean(r))}
        out.update({f"hits@{k}": float(np.mean(r <= k)) for k in ks})
        return out


def known_triples_mask(triples: np.ndarray, n_entities: int, n_relations: int) -> torch.Tensor:
    """(R, N, N) bool, True at [r, h, t] for every known triple: the filter, dense (fine while R·N² is small)."""
    if n_relations * n_entities ** 2 > 2e8:
        raise ValueError("dense filter too large for this KG; use a sparse filter")
    mask = torch.zeros(n_relations, n_entities, n_entities, dtype=torch.bool)
    t = torch.as_tensor(triples)
    mask[t[:, 1], t[:, 0], t[:, 2]] = True
    return mask


def ranks_from_scores(scores: torch.Tensor, true_index: torch.Tensor, filter_mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """scores (B, N); true_index (B,); filter_mask (B, N) True where a candidate is another known answer.
    Filtered candidates can never outrank the true one; the true entity itself is never filtered."""
    scores = scores.double()
    true = scores.gather(1, true_index[:, None])                                  # (B, 1)
    if filter_mask is not None:
        filter_mask = filter_mask.clone()
        filter_mask[torch.arange(len(true_index)), true_index] = False
        scores = scores.masked_fill(filter_mask, float("-inf"))
    higher = (scores > true).sum(1).double()
    at_least = (scores >= true).sum(1).double()
    return {"optimistic": higher + 1, "pessimistic": at_least, "realistic": (higher + 1 + at_least) / 2}


@torch.no_grad()
def evaluate(score_t: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
             score_h: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
             triples: np.ndarray, known: torch.Tensor | None, batch_size: int = 256) -> Ranks:
    """Filtered ranks of `triples` (n, 3); known = known_triples_mask(all triples) or None for raw ranks."""
    t = torch.as_tensor(triples)
    head = {k: [] for k in RANK_TYPES}
    tail = {k: [] for k in RANK_TYPES}
    for s in range(0, len(t), batch_size):
        h, r, o = t[s:s + batch_size].unbind(1)
        for side, scores, true, mask in (
            (tail, score_t(h, r), o, known[r, h] if known is not None else None),        # (B, N) known tails of (h, r)
            (head, score_h(r, o), h, known[r, :, o] if known is not None else None),     # (B, N) known heads of (r, t)
        ):
            for k, v in ranks_from_scores(scores, true, mask).items():
                side[k].append(v.numpy())
    return Ranks({k: np.concatenate(v) for k, v in head.items()}, {k: np.concatenate(v) for k, v in tail.items()})


def evaluate_model(model, triples: np.ndarray, known: torch.Tensor | None, batch_size: int = 256) -> Ranks:
    model.eval()
    return evaluate(model.score_t, model.score_h, triples, known, batch_size)


# -- chance: what a uniformly random ranking scores on the same filtered candidate sets --------------------
# With n candidates left after filtering (the true entity included), a random ranking puts the true entity at
# each rank 1 … n with probability 1/n, so  E[1/rank] = H_n / n,  P(rank ≤ k) = min(k, n) / n,  E[rank] = (n + 1)/2.
# On a small graph filtering leaves few candidates, and chance is high: Nations' random Hits@10 is ~0.95.
# The adjusted index (Hoyt et al. 2022, "A Unified Framework for Rank-based Evaluation Metrics for Link
# Prediction in Knowledge Graphs", §4; pykeen's AdjustedHitsAtK / AdjustedInverseHarmonicMeanRank) rescales a
# metric M so that chance is 0 and a perfect ranking 1:  (M − E[M]) / (1 − E[M]).
def candidate_counts(triples: np.ndarray, known: torch.Tensor, n_entities: int) -> np.ndarray:
    """Filtered candidates per ranking task (the true entity plus every entity not filtered), head side then
    tail side, in the order of Ranks.side("both")."""
    t = torch.as_tensor(triples)
    h, r, o = t.unbind(1)
    other_heads = known[r, :, o].sum(1) - 1                    # known heads of (r, t) besides the true one
    other_tails = known[r, h].sum(1) - 1
    return np.concatenate([(n_entities - other_heads).numpy(), (n_entities - other_tails).numpy()]).astype(np.int64)


def chance_metrics(n_candidates: np.ndarray, ks=(1, 3, 10)) -> dict[str, float]:
    """Expected MRR, MR and Hits@k of a uniformly random ranking, given each task's candidate count."""
    n = np.asarray(n_candidates, dtype=np.int64)
    harmonic = np.cumsum(1.0 / np.arange(1, n.max() + 1))      # H_1 … H_max
    out = {"mrr": float(np.mean(harmonic[n - 1] / n)), "mr": float(np.mean((n + 1) / 2))}
    out.update({f"hits@{k}": float(np.mean(np.minimum(k, n) / n)) for k in ks})
    return out


def adjusted(value: float, expected: float) -> float:
    """Hoyt et al. 2022's adjusted index of an increasing metric bounded by 1: 0 at chance, 1 perfect."""
    return (value - expected) / (1 - expected)
