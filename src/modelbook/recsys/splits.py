"""Ratings as arrays, split the way a recommender meets them: by time, per user.

A random hold-out lets the model see a user's later taste while it predicts their earlier ratings; in
production the model is trained on the past and serves the future. temporal_split holds out each user's last
`test_fraction` of ratings by timestamp (at least one), so every test rating is later than that user's train
ratings. subsample keeps a random subset of users and the most-rated items (the quick preset).

    Ratings(user, item, rating, time, n_users, n_items)
    subsample(ratings, n_users, n_items, rng)  -> Ratings renumbered 0..n-1
    temporal_split(ratings, test_fraction)     -> (train, test)
    truncate_users(train, users, keep)         -> train with those users' first `keep` ratings only (cold start)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ratings:
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    time: np.ndarray
    n_users: int
    n_items: int

    def __len__(self) -> int:
        return len(self.user)

    def take(self, mask: np.ndarray) -> "Ratings":
        return Ratings(self.user[mask], self.item[mask], self.rating[mask], self.time[mask], self.n_users, self.n_items)

    def counts(self, axis: str = "item") -> np.ndarray:
        return np.bincount(self.item if axis == "item" else self.user, minlength=self.n_items if axis == "item" else self.n_users)


def subsample(r: Ratings, n_users: int, n_items: int, rng: np.random.Generator) -> tuple[Ratings, np.ndarray]:
    """(ratings of n_users random users on the n_items most-rated items, renumbered; original item ids (n_items,)).
    0 keeps all users / items."""
    users = np.arange(r.n_users) if not n_users or n_users >= r.n_users else np.sort(rng.choice(r.n_users, n_users, replace=False))
    keep_u = np.isin(r.user, users)
    counts = np.bincount(r.item[keep_u], minlength=r.n_items)
    items = np.arange(r.n_items) if not n_items or n_items >= r.n_items else np.sort(np.argsort(-counts, kind="stable")[:n_items])
    keep = keep_u & np.isin(r.item, items)
    u_new = np.full(r.n_users, -1)
    u_new[users] = np.arange(len(users))
    i_new = np.full(r.n_items, -1)
    i_new[items] = np.arange(len(items))
    s = r.take(keep)
    return Ratings(u_new[s.user], i_new[s.item], s.rating, s.time, len(users), len(items)), items


def _rank_in_user(r: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """Each rating's 0-based position in its user's history by time (ties broken by item), and the user's count."""
    order = np.lexsort((r.item, r.time, r.user))
    counts = np.bincount(r.user, minlength=r.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(r), dtype=np.int64)
    rank[order] = np.arange(len(r)) - starts[r.user[order]]
    return rank, counts[r.user]


def temporal_split(r: Ratings, test_fraction: float = 0.2) -> tuple[Ratings, Ratings]:
    """Each user's last ceil(test_fraction × n_u) ratings by time are the test set (users with one rating stay in train)."""
    rank, n = _rank_in_user(r)
    n_test = np.where(n > 1, np.ceil(test_fraction * n), 0)
    test = rank >= n - n_test
    return r.take(~test), r.take(test)


def truncate_users(train: Ratings, users: np.ndarray, keep: int) -> Ratings:
    """Keep only the first `keep` ratings (by time) of `users`: they become cold-start users."""
    rank, _ = _rank_in_user(train)
    drop = np.isin(train.user, users) & (rank >= keep)
    return train.take(~drop)
