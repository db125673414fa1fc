"""Logistic regression by Newton's method equals statsmodels' maximum-likelihood fit, and solves the score equations."""
import numpy as np

from modelbook.nn.logistic import logistic_newton


def _data(n=500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) * [1.0, 300.0] + [0.0, 800.0]      # a feature on the scale of ISLR's balance
    beta = np.array([-4.0, 0.8, 0.004])
    A = np.column_stack([np.ones(n), x])
    y = (rng.random(n) < 1 / (1 + np.exp(-A @ beta))).astype(float)
    return A, y


def test_newton_equals_statsmodels_logit():
    import statsmodels.api as sm  # a pinned dependency: missing means a broken install, not a skip
    A, y = _data()
    ref = sm.Logit(y, A).fit(method="newton", tol=1e-12, maxiter=100, disp=0).params
    np.testing.assert_allclose(logistic_newton(A, y), ref, rtol=1e-9)


def test_newton_solves_the_score_equations():
    A, y = _data(seed=1)
    beta = logistic_newton(A, y)
    p = 1 / (1 + np.exp(-A @ beta))
    np.testing.assert_allclose(A.T @ (y - p), 0.0, atol=1e-8)     # ∇ℓ(β) = Aᵀ(y − p) = 0 at the maximum
    assert np.abs(A.T @ (y - 1 / (1 + np.exp(-A @ (beta * 1.01))))).max() > 1e-3   # and not anywhere else
