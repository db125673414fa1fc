"""Logistic regression by maximum likelihood, fitted with Newton's method (iteratively reweighted least squares).

    P(y = 1 | a) = σ(aᵀβ)          log-likelihood ℓ(β) = Σ y log p + (1 − y) log(1 − p)
    gradient  Aᵀ(y − p)            Hessian  −AᵀWA,  W = diag(p (1 − p))
    Newton:   β ← β + (AᵀWA)⁻¹ Aᵀ(y − p)

Each step is a weighted least-squares solve, hence "IRLS" (Hastie, Tibshirani & Friedman, ESL §4.4.1). The
likelihood is concave, so from β = 0 the steps converge quadratically to the unpenalised maximum, the
coefficients statistics packages (R's glm, statsmodels' Logit) print. A carries the intercept column itself.

Cross-checks: tests/nn/test_logistic.py (statsmodels Logit on the same data; the score equations at the solution).
"""
from __future__ import annotations

import numpy as np


def logistic_newton(A: np.ndarray, y: np.ndarray, n_iter: int = 30) -> np.ndarray:
    """A (n, k) design matrix (with a column of ones for the intercept), y (n,) in {0, 1} -> β (k,)."""
    beta = np.zeros(A.shape[1])
    for _ in range(n_iter):
        p = 1 / (1 + np.exp(-A @ beta))
        beta = beta + np.linalg.solve(A.T @ (A * (p * (1 - p))[:, None]), A.T @ (y - p))
    return beta
