"""Hyper-parameter search at an equal trial budget: TPE vs random vs grid, over several seeds.

The problem: ridge regression on scikit-learn's diabetes data (442 patients, 10 features) with the 55 products
and squares of the features added, and one penalty per block (linear terms, products, squares): three
log-scaled hyper-parameters spanning eight decades, scored by 3-fold CV mean squared error of the standardised
target. Each evaluation is a 65 × 65 solve per fold (the Gram matrices are computed once), so hundreds of
studies fit in seconds, while the landscape is a real one (flat plateaus, one narrow valley per penalty).

    GroupRidgeCV(seed)                  .score(alphas) -> CV MSE; .objective(trial) for Optuna
    make_sampler(name, seed, n_trials)  "tpe" | "random" | "grid" (a grid with n_trials points)
    best_so_far(study)                  (n_trials,) running minimum of the completed values
    paired_summary(a, b)                mean of a − b over seeds, its one-sided 95% t lower bound, wins, ties

Bergstra et al. 2011 (TPE) and Bergstra & Bengio 2012 (random vs grid) are the references of the lab's checks.
"""
from __future__ import annotations

import math

import numpy as np

from modelbook.evaluation.cv import kfold

PARAMS = ("alpha_linear", "alpha_products", "alpha_squares")
LOW, HIGH = 1e-3, 1e5  # each penalty's range (log-uniform): eight decades


def diabetes_quadratic() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (442, 65) standardised: 10 raw, 45 products, 10 squares), standardised target, block of each column."""
    x, y = diabetes_raw()
    x = (x - x.mean(0)) / x.std(0)
    f = construct_quadratic(x)
    d = x.shape[1]
    groups = np.r_[np.zeros(d), np.ones(d * (d - 1) // 2), np.full(d, 2)].astype(int)
    return (f - f.mean(0)) / f.std(0), (y - y.mean()) / y.std(), groups


def diabetes_raw() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes data (unscaled), read from the files it ships, without importing scikit-learn:
    a worker process starts in a fraction of the time (equal to load_diabetes(scaled=False): tests/automl)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed (its diabetes data set is the search problem)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return np.loadtxt(folder / "diabetes_data_raw.csv.gz"), np.loadtxt(folder / "diabetes_target.csv.gz")


def construct_quadratic(x: np.ndarray) -> np.ndarray:
    """[x, x_i·x_j (i < j, row-major), x_i²]: the degree-2 terms of PolynomialFeatures, in blocks."""
    i, j = np.triu_indices(x.shape[1], 1)
    return np.hstack([x, x[:, i] * x[:, j], x ** 2])


class GroupRidgeCV:
    """k-fold CV MSE of ridge regression with one penalty per feature block; the folds are fixed by `seed`."""

    def __init__(self, seed: int, k: int = 3):
        self.f, self.y, self.groups = diabetes_quadratic()
        self.folds = []
        for train, test in kfold(len(self.y), k, np.random.default_rng(seed)):
            mu, ym = self.f[train].mean(0), self.y[train].mean()
            a = self.f[train] - mu
            self.folds.append((a.T @ a, a.T @ (self.y[train] - ym), self.f[test] - mu, self.y[test] - ym))
        self.evaluations = 0

    def score(self, alphas) -> float:
        pen = np.diag(np.asarray(alphas, dtype=float)[self.groups])
        self.evaluations += 1
        return float(np.mean([np.mean((xt @ np.linalg.solve(g + pen, r) - yt) ** 2) for g, r, xt, yt in self.folds]))

    def objective(self, trial) -> float:
        return self.score([trial.suggest_float(p, LOW, HIGH, log=True) for p in PARAMS])


def grid_values(n_trials: int) -> dict[str, list[float]]:
    """A full grid of about n_trials points: round(n^(1/3)) log-spaced values per penalty, ends included."""
    per = max(2, round(n_trials ** (1 / len(PARAMS))))
    values = np.logspace(math.log10(LOW), math.log10(HIGH), per).tolist()
    return {p: values for p in PARAMS}


def make_sampler(name: str, seed: int, n_trials: int):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_values(n_trials), seed=seed)
    raise ValueError(f"unknown sampler {name!r} (tpe, random, grid)")


def run_search(problem: GroupRidgeCV, sampler: str, seed: int, n_trials: int) -> np.ndarray:
    """One in-memory study; returns its best-so-far curve (n_trials,)."""
    import optuna

    study = optuna.create_study(sampler=make_sampler(sampler, seed, n_trials))
    study.optimize(problem.objective, n_trials=n_trials)
    return best_so_far(study)


def best_so_far(study) -> np.ndarray:
    values = [t.value for t in sorted(study.trials, key=lambda t: t.number) if t.value is not None]
    return np.minimum.accumulate(np.asarray(values, dtype=float))


def paired_summary(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Paired comparison over seeds of a − b (positive: b is lower, i.e. better for a loss)."""
    from modelbook.evaluation.uncertainty import paired_lower_bound

    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    lower = paired_lower_bound(d, 0.95) if n > 1 else -math.inf
    return {"mean": float(d.mean()), "lower95": float(lower), "wins": float((d > 0).mean()),
            "ties": float((d == 0).mean()), "n": float(n)}
