"""How sure is a measured metric? Bootstrap intervals, and closed-form standard errors of AUC.

Bootstrap (Efron 1979): resample the test set with replacement B times, recompute the metric, and read
the 2.5% and 97.5% percentiles. It needs no formula, and works for any metric.
For AUC two closed forms exist to check it against:
  DeLong et al. 1988: the exact nonparametric variance from the structural components
      V10(x_i) = mean_j ψ(x_i, y_j), V01(y_j) = mean_i ψ(x_i, y_j), ψ = 1 if x > y, ½ if equal, 0 if less;
      Var(AUC) = Var(V10)/n⁺ + Var(V01)/n⁻.
  Hanley & McNeil 1982: an approximation assuming exponential score distributions,
      Q1 = A/(2−A), Q2 = 2A²/(1+A), Var = [A(1−A) + (n⁺−1)(Q1−A²) + (n⁻−1)(Q2−A²)] / (n⁺ n⁻).

`bootstrap_auc` is the stratified bootstrap of AUC with every resample at once: a resample is a vector of counts
(how often each example was drawn), and the Mann–Whitney AUC of a resample is Σ_i c⁺_i · (c⁻ below s_i + ½ c⁻ tied
with s_i) / (n⁺ n⁻), from cumulative counts over the sorted negatives: O(B·n) instead of B sorts.
`interval_coverage` asks whether an interval method keeps its promise: on samples from a binormal population
(negatives N(0, 1), positives N(Δ, 1), whose AUC is exactly Φ(Δ/√2)), how often does the interval hold the truth?
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


def bootstrap_counts(n: int, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """(n_boot, n) counts: row b says how many times each of n examples is drawn in resample b (rows sum to n)."""
    idx = rng.integers(0, n, (n_boot, n)) + n * np.arange(n_boot)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n)


def auc_from_counts(pos: np.ndarray, neg: np.ndarray, c_pos: np.ndarray, c_neg: np.ndarray) -> np.ndarray:
    """Mann–Whitney AUC (ties ½) of each resample given by counts c_pos (B, n⁺) and c_neg (B, n⁻) over the scores
    of the positives `pos` and the negatives `neg`: equal to roc_auc on the resampled arrays."""
    order = np.argsort(neg, kind="stable")
    sorted_neg = neg[order]
    below, upto = np.searchsorted(sorted_neg, pos, "left"), np.searchsorted(sorted_neg, pos, "right")
    cum = np.concatenate([np.zeros((len(c_neg), 1)), np.cumsum(c_neg[:, order], axis=1)], axis=1)  # (B, n⁻ + 1)
    wins = cum[:, below] + 0.5 * (cum[:, upto] - cum[:, below])          # (B, n⁺) resampled negatives beaten by each positive
    return (c_pos * wins).sum(axis=1) / (c_pos.sum(axis=1) * c_neg.sum(axis=1))


def bootstrap_auc(y_true, y_score, rng: np.random.Generator, n_boot: int = 1000,
                  alpha: float = 0.05) -> tuple[float, float, np.ndarray]:
    """Stratified percentile interval (lo, hi) of ROC AUC and its replicates: positives and negatives are each
    resampled with replacement, n⁺ and n⁻ kept (the same resampling as bootstrap_ci(roc_auc, ..., stratify=y))."""
    y_true = np.asarray(y_true).astype(bool)
    y_score = np.asarray(y_score, dtype=float)
    pos, neg = y_score[y_true], y_score[~y_true]
    reps = auc_from_counts(pos, neg, bootstrap_counts(len(pos), rng, n_boot), bootstrap_counts(len(neg), rng, n_boot))
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi), reps


def binormal_delta(auc: float) -> float:
    """The separation Δ of N(0, 1) negatives and N(Δ, 1) positives whose AUC is `auc`: AUC = Φ(Δ/√2)."""
    from scipy.stats import norm

    return float(np.sqrt(2) * norm.ppf(auc))


def interval_coverage(interval: Callable, auc: float, n_pos: int, n_neg: int, n_rep: int,
                      rng: np.random.Generator) -> float:
    """Share of `n_rep` binormal samples (n_pos positives, n_neg negatives, population AUC `auc`) whose interval
    interval(y, score, rng) -> (lo, hi, ...) contains `auc`."""
    delta = binormal_delta(auc)
    y = np.r_[np.ones(n_pos, dtype=int), np.zeros(n_neg, dtype=int)]
    hits = 0
    for _ in range(n_rep):
        score = np.r_[rng.normal(delta, 1.0, n_pos), rng.normal(0.0, 1.0, n_neg)]
        lo, hi = interval(y, score, rng)[:2]
        hits += lo <= auc <= hi
    return hits / n_rep


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


def student_t_margin(values, quantile: float) -> float:
    """t_{quantile, n−1} · s / √n for the sample `values`: the half-width of a two-sided interval at quantile
    0.975 (95%), or the distance from the mean to a one-sided lower bound at quantile = the confidence."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    return float(stats.t.ppf(quantile, len(v) - 1)) * float(v.std(ddof=1)) / np.sqrt(len(v))


def paired_lower_bound(gains, confidence: float = 0.95) -> float:
    """The one-sided Student-t lower bound at `confidence` for the mean of paired gains (one per seed, draw or init):
    mean − t_{confidence, n−1} · s / √n."""
    return float(np.mean(np.asarray(gains, dtype=float))) - student_t_margin(gains, confidence)


def bounded_mean_lower_bound(values, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound on the mean of independent values in [0, 1]: the smallest p ≤ mean whose
    Chernoff bound exp(−n · KL(mean ‖ p)) on seeing a mean this high is still above 1 − confidence (Hoeffding 1963,
    Theorem 1, which holds for any independent variables in [0, 1]). No normal approximation, so it stays valid
    where values pile up at an end of the range and the sample spread says nothing."""
    import math

    from scipy.optimize import brentq
    from scipy.special import rel_entr

    v = np.asarray(values, float)
    m, budget = float(v.mean()), math.log(1.0 / (1.0 - confidence)) / len(v)

    def excess(p):                       # KL(m ‖ p) − log(1/α)/n, decreasing in p on (0, m]
        return float(rel_entr(m, p) + rel_entr(1.0 - m, 1.0 - p)) - budget

    if m <= 0.0 or excess(1e-300) <= 0.0:
        return 0.0
    return float(brentq(excess, 1e-300, m, xtol=1e-12))


def pooled_chi_square_pvalue(observed, expected_probs) -> float:
    """Pearson chi-square goodness-of-fit p-value (scipy.stats.chisquare) of counts against probabilities, with the
    cells expected below 5 pooled into one (dropped, and the rest rescaled, if that pool is still below 5)."""
    from scipy import stats

    obs = np.asarray(observed, float)
    exp = np.asarray(expected_probs, float) * obs.sum()
    keep = exp >= 5
    obs_k, exp_k = np.append(obs[keep], obs[~keep].sum()), np.append(exp[keep], exp[~keep].sum())
    if exp_k[-1] < 5:
        obs_k, exp_k = obs_k[:-1], exp_k[:-1] * obs_k[:-1].sum() / exp_k[:-1].sum()
    return float(stats.chisquare(obs_k, exp_k).pvalue)
