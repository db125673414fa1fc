"""Decisions from scores: the cost-optimal threshold and the profit curve.

With c_FP the cost of acting on a negative (declining a good loan, reviewing a legitimate payment) and c_FN the
cost of missing a positive (a default's loss, a fraud's amount), acting on x costs (1 − p)·c_FP in expectation
and not acting costs p·c_FN, so for a calibrated p = P(y = 1 | x) the Bayes rule acts when

    p > t* = c_FP / (c_FP + c_FN)                       (Elkan 2001, "The foundations of cost-sensitive learning")

`cost_curve` evaluates the realised cost of every threshold on labelled data (exhaustive search); the profit
curve is the saving against acting on nobody, as a function of the share of cases acted on.
"""
from __future__ import annotations

import numpy as np


def bayes_threshold(cost_fp: float, cost_fn: float) -> float:
    if cost_fp <= 0 or cost_fn <= 0:
        raise ValueError("costs must be positive")
    return cost_fp / (cost_fp + cost_fn)


def _sweep(y, p):
    """Thresholds (decreasing: +inf, then every distinct score), and for each the cases acted on and the TPs."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]          # last index of each tie group
    tp = np.cumsum(ys)[last]
    return np.r_[np.inf, ps[last]], np.r_[0, last + 1], np.r_[0, tp], int(ys.sum())


def cost_curve(y, p, cost_fp: float, cost_fn: float) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, total cost) of 'act when p ≥ threshold' for every distinct score and +inf (act on none)."""
    thresholds, acted, tp, positives = _sweep(y, p)
    return thresholds, ((acted - tp) * cost_fp + (positives - tp) * cost_fn).astype(float)


def realised_cost(y, p, threshold: float, cost_fp: float, cost_fn: float) -> float:
    y, act = np.asarray(y), np.asarray(p) >= threshold
    return float(((act & (y == 0)).sum() * cost_fp + (~act & (y == 1)).sum() * cost_fn))


def profit_curve(y, p, cost_fp: float, cost_fn: float) -> tuple[np.ndarray, np.ndarray]:
    """(share of cases acted on, saving vs acting on nobody), best-scored cases first."""
    _, acted, _, _ = _sweep(y, p)
    _, cost = cost_curve(y, p, cost_fp, cost_fn)
    return acted / len(np.asarray(p)), cost[0] - cost
