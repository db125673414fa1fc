"""Label budgets: n labelled examples per class, drawn with the lab's generator; test sets fixed by a constant seed.

Text: WordNet noun glosses labelled with their lexicographer file (noun.animal, noun.food, ...), a real English
topic-classification set of 82,115 definitions (modelbook.data.wordnet). Training examples come from WordNet's
fixed train part, test examples from its test part, so no gloss is on both sides.
Images: Fashion-MNIST's training images for training, its test images for testing.
"""
from __future__ import annotations

import numpy as np

from modelbook.core.errors import ModelbookError

TEST_SEED = 2_024_024  # fixed: the test set does not move with the lab's seed


def per_class(labels: np.ndarray, classes, n: int, rng: np.random.Generator, pool: np.ndarray | None = None,
              exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of n examples of each class (in `classes` order, in random order within a class), drawn without replacement
    from `pool` (default: all) minus `exclude`."""
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool)
    if exclude is not None and len(exclude):
        pool = np.setdiff1d(pool, exclude)
    out = []
    for c in classes:
        members = pool[labels[pool] == c]
        if n > len(members):
            raise ModelbookError(f"asked for {n} examples of class {c}; only {len(members)} are available")
        out.append(rng.choice(members, n, replace=False))  # random order: the first m of a class are a random subset
    return np.concatenate(out)


def relabel(labels: np.ndarray, classes) -> np.ndarray:
    """Original class ids -> 0..k−1 in `classes` order."""
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[int(c)] for c in labels], dtype=np.int64)


def gloss_task(class_names, n_train: int, n_test: int, rng: np.random.Generator, exclude=None):
    """(train texts, train labels, test texts, test labels, train indices) for WordNet lexicographer classes
    named like 'noun.animal'; labels 0..k−1 in the given order. `exclude`: node indices not to draw for training."""
    from modelbook.data.wordnet import NOUN_CLASSES, wordnet_nouns

    g = wordnet_nouns()
    classes = [NOUN_CLASSES.index(c) for c in class_names]
    train = per_class(g.labels, classes, n_train, rng, np.flatnonzero(g.split == 0), exclude)
    test = per_class(g.labels, classes, n_test, np.random.default_rng(TEST_SEED), np.flatnonzero(g.split == 2))
    return (g.glosses(train), relabel(g.labels[train], classes), g.glosses(test), relabel(g.labels[test], classes),
            train)


def fashion_task(n_train: int, n_test: int, rng: np.random.Generator):
    """(x_train, y_train, x_test, y_test): float32 tensors (N, 1, 28, 28) in [0, 1] and int64 labels; n_train
    images per class from the training set, n_test per class from the test set (fixed)."""
    import torch

    from modelbook.data.images import fashion_mnist

    d = fashion_mnist()
    tr = per_class(d.y_train, range(10), n_train, rng)
    te = per_class(d.y_test, range(10), n_test, np.random.default_rng(TEST_SEED))

    def tensors(x, y, idx):
        return torch.from_numpy(x[idx].astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(y[idx].astype(np.int64))

    return (*tensors(d.x_train, d.y_train, tr), *tensors(d.x_test, d.y_test, te))
