"""Model selection across families (nested CV), automated features, and ensembles (voting, stacking).

    family_configs()                 the candidates: (name, factory) for 4 model families × a few settings
    family_scores(x, y, configs)     a score_fn for modelbook.evaluation.cv.nested_cv: accuracy of every candidate
    f_statistic(x, y)                univariate F statistic of each column (regression: = sklearn's f_regression;
                                     classification: one-way ANOVA, = sklearn's f_classif)
    feature_scores(x, y, ks, alpha)  a score_fn over "raw features" and "constructed + top-k selected" (R² of ridge)
    soft_vote(models, x)             mean predicted probability of fitted classifiers
    Stacking(bases, meta, folds)     out-of-fold probabilities of the bases -> meta model (Wolpert 1992); bases
                                     refitted on all the training data for prediction, as scikit-learn's
                                     StackingClassifier does (binary: only the positive-class column)

Every fit happens inside the training indices it is given: selection (of a family, of k features) inside the
outer training fold is what makes the nested estimate honest.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from modelbook.automl.search import construct_quadratic


def _scaled(model):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), model)


def family_configs() -> list[tuple[str, Callable]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    out: list[tuple[str, Callable]] = []
    out += [(f"logistic C={c:g}", lambda c=c: _scaled(LogisticRegression(C=c, max_iter=1000))) for c in (0.01, 1.0, 100.0)]
    out += [(f"kNN k={k}", lambda k=k: _scaled(KNeighborsClassifier(k))) for k in (1, 5, 15)]
    out += [(f"tree depth={d}", lambda d=d: DecisionTreeClassifier(max_depth=d, random_state=0)) for d in (2, 4, 8)]
    out += [("naive Bayes", GaussianNB)]
    return out


def family_scores(x: np.ndarray, y: np.ndarray, configs) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        return np.array([np.mean(make().fit(x[train], y[train]).predict(x[test]) == y[test]) for _, make in configs])

    return score


def f_statistic(x: np.ndarray, y: np.ndarray, classification: bool = False) -> np.ndarray:
    """Per column: regression F = r²/(1 − r²)·(n − 2); classification: between/within-class mean squares."""
    n = len(y)
    if not classification:
        xc, yc = x - x.mean(0), y - y.mean()
        r = (xc * yc[:, None]).sum(0) / np.sqrt((xc ** 2).sum(0) * (yc ** 2).sum())
        return r ** 2 / (1 - r ** 2) * (n - 2)
    classes = np.unique(y)
    grand = x.mean(0)
    between = sum((y == c).sum() * (x[y == c].mean(0) - grand) ** 2 for c in classes) / (len(classes) - 1)
    within = sum(((x[y == c] - x[y == c].mean(0)) ** 2).sum(0) for c in classes) / (n - len(classes))
    return between / within


def ridge_r2(xtr, ytr, xte, yte, alpha: float) -> float:
    mu, ym = xtr.mean(0), ytr.mean()
    a = xtr - mu
    w = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ (ytr - ym))
    pred = (xte - mu) @ w + ym
    return float(1 - np.sum((yte - pred) ** 2) / np.sum((yte - yte.mean()) ** 2))


def feature_scores(x: np.ndarray, y: np.ndarray, ks, alpha: float = 1.0):
    """score_fn: [R² on the raw features, R² on the top-k constructed features for each k in ks]. The F
    statistics that rank the constructed columns are computed on the training indices only."""
    raw = (x - x.mean(0)) / x.std(0)
    built = construct_quadratic(raw)

    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        out = [ridge_r2(raw[train], y[train], raw[test], y[test], alpha)]
        mu, sd = built[train].mean(0), built[train].std(0)
        z = (built - mu) / sd
        order = np.argsort(-f_statistic(z[train], y[train]), kind="stable")
        for k in ks:
            cols = order[:k]
            out.append(ridge_r2(z[train][:, cols], y[train], z[test][:, cols], y[test], alpha))
        return np.array(out)

    return score


def soft_vote(models, x: np.ndarray) -> np.ndarray:
    return np.mean([m.predict_proba(x) for m in models], axis=0)


class Stacking:
    """Stacked generalisation: meta model on the bases' out-of-fold probabilities."""

    def __init__(self, bases: list[Callable], meta: Callable, folds):
        self.bases, self.meta, self.folds = bases, meta, folds

    def _features(self, models, x):
        cols = [m.predict_proba(x) for m in models]
        return np.hstack([c[:, 1:] if c.shape[1] == 2 else c for c in cols])

    def fit(self, x: np.ndarray, y: np.ndarray) -> "Stacking":
        n_cols = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
        oof = np.zeros((len(y), n_cols * len(self.bases)))
        for train, test in self.folds:
            models = [make().fit(x[train], y[train]) for make in self.bases]
            oof[test] = self._features(models, x[test])
        self.models_ = [make().fit(x, y) for make in self.bases]
        self.meta_ = self.meta().fit(oof, y)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.meta_.predict_proba(self._features(self.models_, x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.meta_.classes_[np.argmax(self.predict_proba(x), 1)]


def ensemble_bases() -> list[tuple[str, Callable]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    return [("logistic", lambda: _scaled(LogisticRegression(max_iter=1000))),
            ("kNN k=15", lambda: _scaled(KNeighborsClassifier(15))),
            ("tree depth=4", lambda: DecisionTreeClassifier(max_depth=4, random_state=0)),
            ("naive Bayes", GaussianNB)]
