"""Recall@k for a retriever, counted on groups of documents (e.g. the topic a section belongs to).

A query is answered at k if its relevant group is among the first k *distinct* groups of the ranking:
several sections of one topic count as one place, which is what a reader scanning the results sees.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence


def distinct(keys: Iterable[Hashable]) -> list:
    """Keys in order of first appearance."""
    return list(dict.fromkeys(keys))


def recall_at_k(rankings: Sequence[Sequence[Hashable]], relevant: Sequence[Hashable], ks: Iterable[int] = (1, 3)) -> dict[int, float]:
    """rankings[i]: the groups retrieved for query i, best first (distinct); relevant[i]: its answer."""
    if len(rankings) != len(relevant):
        raise ValueError("one ranking per query")
    n = max(len(relevant), 1)
    return {k: sum(rel in list(r)[:k] for r, rel in zip(rankings, relevant)) / n for k in ks}


def evaluate(search: Callable[[str], Sequence[Hashable]], queries: Sequence[str], relevant: Sequence[Hashable],
             ks: Iterable[int] = (1, 3)) -> dict[int, float]:
    """recall@k of `search` (query -> groups, best first; duplicates are collapsed)."""
    return recall_at_k([distinct(search(q)) for q in queries], relevant, ks)
