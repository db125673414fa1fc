"""A credit scorecard from scratch: binning, Weight of Evidence, Information Value, points, KS and Gini.

For bin b with g_b = (goods in b) / (all goods) and d_b = (bads in b) / (all bads):

    WoE_b = ln(g_b / d_b)           IV = Σ_b (g_b − d_b) · WoE_b = KL(g‖d) + KL(d‖g)   (Jeffreys divergence)

Counts get 0.5 added per bin so an empty cell does not give an infinite WoE. Binning starts from quantile bins and
merges adjacent bins until the WoE is monotone in the variable, in the direction of the variable's rank
correlation with the good rate (the "monotone coarse classing" credit analysts do by hand): a monotone bin
pattern is what lets the points be read as "more income, more points".

A logistic regression of y = bad on the WoE columns gives ln odds(bad) = b₀ + Σ_j b_j·WoE_j. Scaling, with PDO
points to double the odds of good and `base_score` points at odds `base_odds` (good:bad):

    factor = PDO / ln 2       offset = base_score − factor · ln(base_odds)
    score  = offset + factor · ln odds(good) = offset − factor · (b₀ + Σ_j b_j·WoE_j)

and the points of bin b of variable j are −factor·(b_j·WoE_jb + b₀/k) + offset/k (k variables), so an
applicant's points add up to the score exactly. KS = max_s |F_bad(s) − F_good(s)|; Gini = 2·AUC − 1.

Cross-checks: tests/finance/test_scorecard.py (IV vs scipy's entropy, KS vs scipy.stats.ks_2samp, Gini vs
scikit-learn's roc_auc_score, points vs the model's log-odds).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelbook.evaluation.classification import roc_auc

SMOOTH = 0.5  # pseudo-count per bin and class, so an empty cell does not give an infinite WoE


@dataclass(frozen=True)
class Binning:
    """One variable's bins: inner cut points (bin i is edges[i-1] ≤ x < edges[i]), counts, WoE and IV."""

    name: str
    edges: np.ndarray
    goods: np.ndarray
    bads: np.ndarray
    woe: np.ndarray
    iv: float

    def codes(self, x) -> np.ndarray:
        return np.searchsorted(self.edges, np.asarray(x, dtype=float), side="right")

    def transform(self, x) -> np.ndarray:
        return self.woe[self.codes(x)]

    @property
    def monotone(self) -> bool:
        d = np.diff(self.woe)
        return bool(np.all(d >= 0) or np.all(d <= 0))


def woe_iv(goods, bads) -> tuple[np.ndarray, float]:
    """WoE per bin and the IV from per-bin counts of goods and bads (SMOOTH added to each cell)."""
    g = np.asarray(goods, dtype=float) + SMOOTH
    d = np.asarray(bads, dtype=float) + SMOOTH
    g, d = g / g.sum(), d / d.sum()
    woe = np.log(g / d)
    return woe, float(np.sum((g - d) * woe))


def _counts(codes: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    bads = np.bincount(codes, weights=y, minlength=n_bins)
    return np.bincount(codes, minlength=n_bins) - bads, bads


def _rank_corr(x: np.ndarray, y: np.ndarray) -> float:
    rx = np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)
    c = np.corrcoef(rx, y)[0, 1]
    return 0.0 if np.isnan(c) else float(c)


def monotone_binning(x, y, name: str = "", max_bins: int = 10, min_share: float = 0.05) -> Binning:
    """Quantile bins (each at least `min_share` of the rows), then adjacent bins merged until WoE is monotone.

    y = 1 for bad. The direction is that of the rank correlation between x and "good" (1 − y); each pass
    merges the adjacent pair that breaks the direction with the smallest WoE gap."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n_bins = max(1, min(max_bins, int(1 / min_share)))
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1], method="lower"))
    # a cut at the minimum would leave an empty first bin: x < min never happens
    edges = edges[edges > x.min()]
    sign = 1.0 if _rank_corr(x, 1 - y) >= 0 else -1.0
    while True:
        goods, bads = _counts(np.searchsorted(edges, x, side="right"), y, len(edges) + 1)
        woe, iv = woe_iv(goods, bads)
        steps = sign * np.diff(woe)
        if len(edges) == 0 or np.all(steps >= 0):
            return Binning(name, edges, goods, bads, woe, iv)
        bad_pairs = np.flatnonzero(steps < 0)
        drop = bad_pairs[np.argmin(np.abs(steps[bad_pairs]))]   # merge bins drop and drop + 1
        edges = np.delete(edges, drop)


@dataclass(frozen=True)
class Scaling:
    pdo: float = 20.0          # points to double the odds of good
    base_score: float = 600.0  # score at base_odds
    base_odds: float = 50.0    # good:bad odds at base_score

    @property
    def factor(self) -> float:
        return self.pdo / np.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * np.log(self.base_odds)


def points_table(binnings: list[Binning], coef, intercept: float, scaling: Scaling = Scaling()) -> list[np.ndarray]:
    """Points per bin of each variable, from the coefficients of a logistic regression of bad on the WoE columns."""
    k = len(binnings)
    return [-scaling.factor * (b * bn.woe + intercept / k) + scaling.offset / k
            for bn, b in zip(binnings, np.asarray(coef, dtype=float))]


def score(binnings: list[Binning], points: list[np.ndarray], X) -> np.ndarray:
    """Each row's total points (X columns in the order of `binnings`)."""
    X = np.asarray(X, dtype=float)
    return sum(pts[bn.codes(X[:, j])] for j, (bn, pts) in enumerate(zip(binnings, points)))


def ks_statistic(score_, y) -> float:
    """max over thresholds of |F_bad(s) − F_good(s)|, the two empirical CDFs evaluated at every distinct score."""
    s, y = np.asarray(score_, dtype=float), np.asarray(y)
    grid = np.unique(s)
    f_bad = np.searchsorted(np.sort(s[y == 1]), grid, side="right") / (y == 1).sum()
    f_good = np.searchsorted(np.sort(s[y == 0]), grid, side="right") / (y == 0).sum()
    return float(np.max(np.abs(f_bad - f_good)))


def gini(y, risk_score) -> float:
    """Gini = 2·AUC − 1 of a score that is higher for riskier cases (for a credit score, pass −score)."""
    return 2 * roc_auc(y, risk_score) - 1
