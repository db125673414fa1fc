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


def tensor_loader(x, y, batch_size: int, shuffle: bool = False, seed: int = 0, extra: tuple = ()):
    """A torch DataLoader over (x, y) tensors that indexes a whole batch at once; `extra` tensors (e.g. a
    teacher's logits) ride along as further batch entries (x, y, *extra).

    Same batches, in the same order, as DataLoader(TensorDataset(x, y), batch_size, shuffle, generator), but the
    dataset is indexed with the batch's index list (one slice per tensor) instead of row by row and then
    stacked: for small models that per-row collation costs more than the training step (measured ≈ 2 ms per
    batch of 256 rows). Shuffling draws from the loader's own generator seeded with `seed`, which
    core.train.fit saves and restores when it resumes.
    """
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

    dataset = TensorDataset(x, y, *extra)
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None,
                      generator=generator)
