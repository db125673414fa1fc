"""k-fold and nested cross-validation, and why the best plain-CV score is an optimistic estimate.

k-fold CV estimates how well a *fixed* modelling recipe generalises: split the n examples into k folds, train
on k − 1, score on the held-out one, average the k scores. Model selection with it: run that for every
configuration of a grid and keep the best mean score. That best score is biased upwards, because the
maximum of many noisy estimates is picked *because* it came out high (Varma & Simon 2006; Cawley & Talbot
2010, "On over-fitting in model selection and subsequent selection bias in performance evaluation").
Nested CV removes the bias: an outer k-fold loop holds out a test fold, and the whole selection (an inner
CV over the grid on the remaining folds) is repeated inside each outer training set; the outer scores then
estimate the performance of "select with CV, then train", which is what will actually be deployed.

CV estimates generalisation; it does not prevent overfitting. The model it selects can still overfit, and
the selection itself can overfit the CV score, which is what the nested estimate exposes.

    kfold(n, k, rng, stratify=None)                  -> list of (train_idx, test_idx)
    grid_cv(score_fn, folds)                         -> (n_configs,) mean score of each configuration
    nested_cv(score_fn, n, k_outer, k_inner, rng, y)  -> (outer scores of the selected configs, their indices)

score_fn(train_idx, test_idx) returns the score of *every* configuration on that split at once, shape
(n_configs,). `knn_scores` is such a function for k-nearest-neighbours with every k of a list, from one
sorted distance matrix (`euclidean_distances`), cheap enough to nest many times.

Cross-checks: tests/evaluation/test_cv.py (knn_scores equals sklearn KNeighborsClassifier for every k;
grid_cv and nested_cv equal sklearn's cross_val_score / GridSearchCV on the same folds; euclidean_distances
equals scipy's cdist).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

ScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def kfold(n: int, k: int, rng: np.random.Generator, stratify: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, test) index pairs; each example is in exactly one test fold. Stratified: each class is dealt
    round-robin over the folds after shuffling, so every fold keeps the class proportions."""
    fold_of = np.empty(n, dtype=np.int64)
    if stratify is None:
        fold_of[rng.permutation(n)] = np.arange(n) % k
    else:
        offset = 0
        for c in np.unique(stratify):
            idx = rng.permutation(np.flatnonzero(stratify == c))
            fold_of[idx] = (np.arange(len(idx)) + offset) % k
            offset += len(idx)
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


def grid_cv(score_fn: ScoreFn, folds) -> np.ndarray:
    """Mean over the folds of every configuration's score: (n_configs,)."""
    return np.mean([score_fn(train, test) for train, test in folds], axis=0)


def nested_cv(score_fn: ScoreFn, n: int, k_outer: int, k_inner: int, rng: np.random.Generator,
              stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Outer k-fold; in each outer training set, pick the configuration with the best inner k-fold mean, and
    score that configuration on the outer test fold. Returns (outer scores (k_outer,), chosen config per fold)."""
    scores, chosen = [], []
    for train, test in kfold(n, k_outer, rng, stratify):
        inner = kfold(len(train), k_inner, rng, None if stratify is None else stratify[train])
        inner_means = grid_cv(lambda a, b: score_fn(train[a], train[b]), inner)
        best = int(np.argmax(inner_means))                    # ties: the first (smallest) configuration
        scores.append(score_fn(train, test)[best])
        chosen.append(best)
    return np.array(scores), np.array(chosen)


def euclidean_distances(x: np.ndarray) -> np.ndarray:
    """(n, n) Euclidean distances between the rows of x (n, d), from |a|² + |b|² − 2a·b: one matrix product,
    clipped at 0 where rounding makes a tiny distance negative."""
    sq = (x ** 2).sum(1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0))


def knn_scores(distances: np.ndarray, y: np.ndarray, ks: np.ndarray) -> ScoreFn:
    """score_fn for k-NN classification (uniform votes, Euclidean) with every k in `ks` at once.

    distances: (n, n) pairwise distances of all examples; y: (n,) int labels. For a split, each test
    example's training neighbours are sorted once; class votes are accumulated along that order, and the
    prediction for k is the class with most votes among the first k (ties → smallest label, as scikit-learn).
    """
    n_classes = int(y.max()) + 1
    ks = np.asarray(ks)

    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        order = np.argsort(distances[np.ix_(test, train)], axis=1, kind="stable")[:, : ks.max()]   # (T, kmax)
        votes = np.cumsum(np.eye(n_classes)[y[train][order]], axis=1)                                  # (T, kmax, C)
        pred = votes[:, ks - 1, :].argmax(axis=2)                                                      # (T, len(ks))
        return (pred == y[test][:, None]).mean(axis=0)

    return score
