"""Seeded splits that take an explicit generator (scikit-learn's rule: no global random state)."""
from __future__ import annotations

import numpy as np


def train_val_split(n: int, val_fraction: float, rng: np.random.Generator, stratify: np.ndarray | None = None):
    """Index arrays (train, val) over range(n); stratified by the labels in `stratify` if given."""
    if stratify is None:
        perm = rng.permutation(n)
        n_val = int(round(n * val_fraction))
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    train, val = [], []
    for c in np.unique(stratify):
        idx = rng.permutation(np.flatnonzero(stratify == c))
        k = int(round(len(idx) * val_fraction))
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
