"""Backtests of VaR exceptions (I_t = 1 when the day's loss exceeds its VaR forecast).

Kupiec (1995) proportion of failures, x exceptions in T days, expected rate p = 1 − α, π̂ = x/T:
    LR_pof = −2 [ (T − x) ln(1 − p) + x ln p − (T − x) ln(1 − π̂) − x ln π̂ ]              ~ χ²(1)
Christoffersen (1998) independence: n_ij = days in state j after a day in state i, π_i = n_i1/(n_i0 + n_i1):
    LR_ind = −2 [ ln L(π̂) − ln L(π̂_0, π̂_1) ]  (one π for both rows vs one per row)         ~ χ²(1)
    LR_cc  = LR_pof + LR_ind  (conditional coverage)                                        ~ χ²(2)
p-values from the χ² survival function written out: χ²(1): erfc(√(x/2)); χ²(2): exp(−x/2).
0·ln 0 is taken as 0 (x = 0 or x = T, an empty transition row).

Basel traffic light (1996 supplement, 99% VaR over 250 days): 0–4 exceptions green, 5–9 yellow, 10+ red.

Cross-checks: tests/finance/test_backtests.py (p-values vs scipy.stats.chi2.sf; LR_pof vs scipy's binomial
log-pmf; LR_ind vs scipy.stats.chi2_contingency's G statistic on the transition table).
"""
from __future__ import annotations

import math

import numpy as np


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df > x) for df 1 or 2."""
    if x <= 0:
        return 1.0
    if df == 1:
        return math.erfc(math.sqrt(x / 2))
    if df == 2:
        return math.exp(-x / 2)
    raise ValueError("chi2_sf covers df 1 and 2")


def kupiec_pof(exceptions, p: float) -> tuple[float, float]:
    """(LR_pof, p-value) for a 0/1 exception series and expected exception rate p."""
    e = np.asarray(exceptions).astype(bool)
    T, x = len(e), int(e.sum())
    pi = x / T
    lr = -2 * (_xlogy(T - x, 1 - p) + _xlogy(x, p) - _xlogy(T - x, 1 - pi) - _xlogy(x, pi))
    lr = max(lr, 0.0)
    return lr, chi2_sf(lr, 1)


def transitions(exceptions) -> np.ndarray:
    """2×2 counts n[i, j] of day t−1 in state i followed by day t in state j."""
    e = np.asarray(exceptions).astype(int)
    return np.bincount(2 * e[:-1] + e[1:], minlength=4).reshape(2, 2)


def christoffersen_independence(exceptions) -> tuple[float, float]:
    n = transitions(exceptions)
    n00, n01, n10, n11 = (float(v) for v in n.ravel())
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / n.sum()
    restricted = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    unrestricted = _xlogy(n00, 1 - pi0) + _xlogy(n01, pi0) + _xlogy(n10, 1 - pi1) + _xlogy(n11, pi1)
    lr = max(-2 * (restricted - unrestricted), 0.0)
    return lr, chi2_sf(lr, 1)


def conditional_coverage(exceptions, p: float) -> tuple[float, float]:
    lr = kupiec_pof(exceptions, p)[0] + christoffersen_independence(exceptions)[0]
    return lr, chi2_sf(lr, 2)


def basel_zone(n_exceptions_250: int) -> str:
    return "green" if n_exceptions_250 <= 4 else "yellow" if n_exceptions_250 <= 9 else "red"
