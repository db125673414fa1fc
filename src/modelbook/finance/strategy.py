"""Walk-forward strategy backtests, transaction costs, Sharpe ratios and the deflated Sharpe ratio.

Walk-forward: row t of the features is what is known at the close of day t; the target is r_{t+1}. At each refit
day t₀ a model is fitted on the rows whose target is already known (t < t₀, from the last `train_window`), and
it sets positions for the days t₀ … t₀ + refit_every − 1. A feature that uses r_{t+1} or later (a centred
moving average, a restated figure) breaks that promise: look-ahead bias.

Net return of a position w_t held over day t+1:  w_t·r_{t+1} − cost·|w_t − w_{t−1}|  (cost per unit traded).

Sharpe ratio (per period) SR = mean/std; annualised ×√periods. Its standard error under iid returns with
skewness γ₃ and kurtosis γ₄ (Mertens 2002; Bailey & López de Prado 2012):
    σ(SR) = √[(1 − γ₃·SR + (γ₄ − 1)/4·SR²) / (T − 1)]
Probabilistic Sharpe ratio PSR(SR*) = Φ((SR − SR*)/σ(SR)). Deflated Sharpe ratio (Bailey & López de Prado 2014):
PSR against SR₀, the expected maximum of N trials' Sharpe ratios when none has skill,
    SR₀ = √V[SR_n] · [(1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))],   γ = 0.5772… (Euler–Mascheroni)

Cross-checks: tests/finance/test_strategy.py (SR₀ vs a Monte Carlo maximum of N null Sharpe ratios; σ(SR)
vs the spread of simulated Sharpe ratios; the walk-forward never fits on a row whose target lies ahead).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def walk_forward(X: np.ndarray, y: np.ndarray, start: int, train_window: int, refit_every: int,
                 fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Predictions for rows start … n−1, NaN before. The block from row t₀ is predicted at the close of day t₀ by a
    model fitted on rows [t₀ − window, t₀): the last of them, t₀ − 1, has target r_{t₀}, just known."""
    n = len(y)
    pred = np.full(n, np.nan)
    for t0 in range(start, n, refit_every):
        lo = max(0, t0 - train_window)
        fit_rows = np.arange(lo, t0)
        block = np.arange(t0, min(n, t0 + refit_every))
        pred[block] = fit_predict(X[fit_rows], y[fit_rows], X[block])
    return pred


def ridge_fit_predict(alpha: float) -> Callable:
    """Ridge regression on standardised features (statistics of the training rows only)."""
    def fp(Xtr, ytr, Xte):
        m, s = Xtr.mean(0), Xtr.std(0) + 1e-12
        A = (Xtr - m) / s
        w = np.linalg.solve(A.T @ A + alpha * len(A) * np.eye(A.shape[1]), A.T @ (ytr - ytr.mean()))
        return ytr.mean() + ((Xte - m) / s) @ w
    return fp


def net_returns(positions, next_returns, cost: float) -> tuple[np.ndarray, np.ndarray]:
    """(gross, net) returns of holding positions[t] over next_returns[t], paying cost per unit of turnover."""
    w = np.asarray(positions, dtype=float)
    gross = w * np.asarray(next_returns, dtype=float)
    turnover = np.abs(np.diff(np.r_[0.0, w]))
    return gross, gross - cost * turnover


def sharpe(returns, periods: int = 1) -> float:
    r = np.asarray(returns, dtype=float)
    return float(r.mean() / r.std(ddof=1) * np.sqrt(periods))


def sharpe_se(sr: float, T: int, skew: float = 0.0, kurt: float = 3.0) -> float:
    """Standard error of a per-period Sharpe ratio estimated from T returns (kurt is not excess)."""
    return float(np.sqrt((1 - skew * sr + (kurt - 1) / 4 * sr ** 2) / (T - 1)))


def probabilistic_sharpe(returns, sr_benchmark: float = 0.0) -> float:
    r = np.asarray(returns, dtype=float)
    sr = sharpe(r)
    se = sharpe_se(sr, len(r), stats.skew(r), stats.kurtosis(r, fisher=False))
    return float(stats.norm.cdf((sr - sr_benchmark) / se))


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """SR₀: the expected maximum of n_trials per-period Sharpe ratios whose true value is 0."""
    if n_trials < 2:
        return 0.0
    z = (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n_trials) + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n_trials * np.e))
    return float(np.sqrt(sr_variance) * z)


def deflated_sharpe(returns, n_trials: int, sr_variance: float) -> tuple[float, float]:
    """(DSR, SR₀): the probability that the selected strategy's true Sharpe ratio exceeds SR₀."""
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return probabilistic_sharpe(returns, sr0), sr0


def features(r: np.ndarray, leak: bool, delay: int = 0) -> np.ndarray:
    """Row t: r_t, trailing 5- and 20-day means; with leak, the centred 3-day mean (r_{t−1} … r_{t+1}).
    delay shifts every feature d days later in time (row t gets row t − d's features)."""
    n, cs = len(r), np.r_[0.0, np.cumsum(r)]

    def mean(lo: int, hi: int) -> np.ndarray:      # mean of r[t+lo … t+hi]
        out = np.zeros(n)
        t = np.arange(max(0, -lo), n - max(0, hi))
        out[t] = (cs[t + hi + 1] - cs[t + lo]) / (hi - lo + 1)
        return out

    cols = [r, mean(-4, 0), mean(-19, 0)] + ([mean(-1, 1)] if leak else [])
    X = np.column_stack(cols)
    return np.r_[np.zeros((delay, X.shape[1])), X[: n - delay]] if delay else X


def null_sharpes(rng, sims: int, trials: int, days: int) -> np.ndarray:
    """Per-period Sharpe ratios of `trials` skill-less strategies over `days` iid normal days, `sims` times."""
    null = rng.standard_normal((sims, trials, days)).astype(np.float32)
    return null.mean(2) / null.std(2, ddof=1)


def trailing_mean(r: np.ndarray, k: int) -> np.ndarray:
    """Row t: the mean of r_{t−k+1} … r_t (0 for the first k − 1 rows)."""
    cs = np.r_[0.0, np.cumsum(r)]
    out = np.zeros(len(r))
    t = np.arange(k - 1, len(r))
    out[t] = (cs[t + 1] - cs[t + 1 - k]) / k
    return out
