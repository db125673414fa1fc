"""Value at Risk and Expected Shortfall of a return series, as positive loss numbers (loss L = −r).

    VaR_α = inf{l : P(L ≤ l) ≥ α}          ES_α = E[L | L ≥ VaR_α]

    historical simulation: VaR = the ⌈α·n⌉-th smallest loss of the window; ES = the mean of the losses ≥ VaR
    normal (μ, σ):         VaR = −μ + σ·z_α;  ES = −μ + σ·φ(z_α)/(1 − α)
    Student-t (ν, μ, s):   VaR = −μ + s·q;    ES = −μ + s·f_ν(q)/(1 − α)·(ν + q²)/(ν − 1),  q = t_ν⁻¹(α)
                           (McNeil, Frey & Embrechts, Quantitative Risk Management, Example 2.15)

With returns of variance σ² the Student-t scale is s = σ·√((ν − 2)/ν), so a fitted ν and a rolling σ give a
fat-tailed VaR that still matches the window's variance. Rolling forecasts use the `window` returns before day t
only: the forecast for day t never sees r_t.

Cross-checks: tests/finance/test_risk.py (ES by numerical integration, VaR by scipy's ppf, HS vs numpy).
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def historical(returns, alpha: float) -> tuple[float, float]:
    losses = np.sort(-np.asarray(returns, dtype=float))
    var = losses[int(np.ceil(alpha * len(losses))) - 1]
    return float(var), float(losses[losses >= var].mean())


def normal(mu: float, sigma: float, alpha: float) -> tuple[float, float]:
    z = stats.norm.ppf(alpha)
    return float(-mu + sigma * z), float(-mu + sigma * stats.norm.pdf(z) / (1 - alpha))


def student_t(nu: float, mu: float, scale: float, alpha: float) -> tuple[float, float]:
    if nu <= 1:
        raise ValueError("the Student-t ES needs ν > 1")
    q = stats.t.ppf(alpha, nu)
    es = stats.t.pdf(q, nu) / (1 - alpha) * (nu + q * q) / (nu - 1)
    return float(-mu + scale * q), float(-mu + scale * es)


def t_scale_for_std(nu: float, sigma: float) -> float:
    """The Student-t scale whose standard deviation is sigma (ν > 2)."""
    return sigma * np.sqrt((nu - 2) / nu)


def rolling_forecasts(returns, window: int, alpha: float, method: str, nu: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(VaR, ES) forecasts for days window … n−1, each from the `window` returns before it.

    method: "historical", "normal" or "student_t" (then nu is required; the scale matches the window's std)."""
    r = np.asarray(returns, dtype=float)
    n = len(r)
    var, es = np.empty(n - window), np.empty(n - window)
    if method == "historical":
        for i, t in enumerate(range(window, n)):
            var[i], es[i] = historical(r[t - window:t], alpha)
        return var, es
    windows = np.lib.stride_tricks.sliding_window_view(r[:-1], window)   # windows[i] = r[i : i + window]
    mu, sigma = windows.mean(1), windows.std(1, ddof=1)
    if method == "normal":
        v, e = normal(0.0, 1.0, alpha)
    elif method == "student_t":
        if nu is None:
            raise ValueError("student_t needs nu")
        v, e = student_t(nu, 0.0, t_scale_for_std(nu, 1.0), alpha)
    else:
        raise ValueError(f"unknown method {method!r}")
    return -mu + sigma * v, -mu + sigma * e
