"""k-fold, grid CV, nested CV and the all-k k-NN scorer, against scikit-learn on the same folds."""
import numpy as np

from modelbook.evaluation.cv import euclidean_distances, grid_cv, kfold, knn_scores, nested_cv


def _data(n=90, seed=0, n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int) + (n_classes == 3) * (X[:, 1] > 0.8)
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    return X, y, D


def test_kfold_partitions_and_stratifies():
    y = np.array([0] * 30 + [1] * 12)
    folds = kfold(42, 6, np.random.default_rng(0), stratify=y)
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests) == list(range(42))
    for train, test in folds:
        assert set(train).isdisjoint(test) and len(train) + len(test) == 42
        assert (y[test] == 1).sum() == 2  # 12 positives over 6 folds


def test_knn_scores_equal_sklearn_for_every_k():
    from sklearn.neighbors import KNeighborsClassifier

    X, y, D = _data()
    ks = np.array([1, 2, 3, 5, 8, 13, 21])
    train, test = np.arange(60), np.arange(60, 90)
    ours = knn_scores(D, y, ks)(train, test)
    ref = [KNeighborsClassifier(k).fit(X[train], y[train]).score(X[test], y[test]) for k in ks]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_grid_and_nested_cv_equal_sklearn_on_the_same_folds():
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    X, y, D = _data(seed=1)
    ks = np.array([1, 3, 5, 7, 9, 15])
    score = knn_scores(D, y, ks)
    folds = kfold(len(y), 5, np.random.default_rng(3))
    ref = [cross_val_score(KNeighborsClassifier(k), X, y, cv=folds).mean() for k in ks]
    np.testing.assert_allclose(grid_cv(score, folds), ref, atol=1e-12)

    outer_scores, chosen = nested_cv(score, len(y), 4, 3, np.random.default_rng(7))
    rng = np.random.default_rng(7)  # replay the same outer and inner folds for sklearn
    ref_scores = []
    for train, test in kfold(len(y), 4, rng):
        inner = kfold(len(train), 3, rng)
        search = GridSearchCV(KNeighborsClassifier(), {"n_neighbors": list(ks)}, cv=inner).fit(X[train], y[train])
        ref_scores.append(search.score(X[test], y[test]))
    np.testing.assert_allclose(outer_scores, ref_scores, atol=1e-12)
    assert set(chosen) <= set(range(len(ks)))


def test_plain_cv_best_is_optimistic_on_random_labels():
    """Varma & Simon 2006: with labels unrelated to the features, the best CV score over a grid exceeds
    chance while nested CV stays at chance."""
    plain, nested = [], []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(80, 10))
        y = rng.integers(0, 2, 80)
        D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
        score = knn_scores(D, y, np.arange(1, 40, 2))
        plain.append(grid_cv(score, kfold(80, 5, rng)).max())
        nested.append(nested_cv(score, 80, 5, 4, rng)[0].mean())
    assert np.mean(plain) > 0.56 and abs(np.mean(nested) - 0.5) < 0.05


def test_euclidean_distances_equal_scipy_cdist():
    from scipy.spatial.distance import cdist

    x = np.random.default_rng(3).normal(size=(70, 784))
    x[5] = x[9]                                           # a duplicate row: distance 0, not NaN from a negative
    ours, ref = euclidean_distances(x), cdist(x, x)
    far = ref > 1
    np.testing.assert_allclose(ours[far], ref[far], rtol=1e-12)
    # at distance 0 the expansion leaves rounding of ~|x|² · 1e-16, and the square root lifts it to ~1e-7
    np.testing.assert_allclose(ours[~far], ref[~far], rtol=0, atol=1e-5)
    assert np.isfinite(ours).all()
