"""How sure is a measured metric? Bootstrap intervals, and closed-form standard errors of AUC.

Bootstrap (Efron 1979): resample the test set with replacement B times, recompute the metric, and read
the 2.5% and 97.5% percentiles. It needs no formula, and works for any metric.
For AUC two closed forms exist to check it against:
  DeLong et al. 1988: the exact nonparametric variance from the structural components
      V10(x_i) = mean_j ψ(x_i, y_j), V01(y_j) = mean_i ψ(x_i, y_j), ψ = 1 if x > y, ½ if equal, 0 if less;
      Var(AUC) = Var(V10)/n⁺ + Var(V01)/n⁻.
  Hanley & McNeil 1982: an approximation assuming exponential score distributions,
      Q1 = A/(2−A), Q2 = 2A²/(1+A), Var = [A(1−A) + (n⁺−1)(Q1−A²) + (n⁻−1)(Q2−A²)] / (n⁺ n⁻).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def bootstrap_ci(metric: Callable[..., float], arrays: tuple, rng: np.random.Generator, n_boot: int = 1000,
                 alpha: float = 0.05, stratify=None) -> tuple[float, float, np.ndarray]:
    """Percentile interval (lo, hi) and the bootstrap replicates of metric(*arrays).

    stratify: resample within each class of this array (keeps both classes present for AUC).
    """
    n = len(arrays[0])
    groups = [np.arange(n)] if stratify is None else [np.flatnonzero(stratify == c) for c in np.unique(stratify)]
    reps = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        reps[b] = metric(*(a[idx] for a in arrays))
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi), reps


def auc_se_delong(y_true, y_score) -> float:
    y_true = np.asarray(y_true).astype(bool)
    y_score = np.asarray(y_score, dtype=float)
    pos, neg = y_score[y_true], y_score[~y_true]
    psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])  # (n+, n-)
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)))


def auc_se_hanley_mcneil(auc: float, n_pos: int, n_neg: int) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return float(np.sqrt(var))
