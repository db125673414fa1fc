"""Heterogeneous treatment effects: T- and X-learners (Künzel, Sekhon, Bickel & Yu 2019, PNAS 116:4156), PEHE,
and the Qini curve.

With potential outcomes Y(0), Y(1) the conditional average treatment effect is τ(x) = E[Y(1) − Y(0) | X = x].
  - naive:     τ̂ = mean(Y | T = 1) − mean(Y | T = 0), one number for everyone (biased when treatment
               depends on x, and blind to who benefits)
  - T-learner: fit μ̂₀ on the controls and μ̂₁ on the treated; τ̂(x) = μ̂₁(x) − μ̂₀(x)
  - X-learner: impute effects D¹ = Y − μ̂₀(X) on the treated and D⁰ = μ̂₁(X) − Y on the controls, fit τ̂₁ on D¹
               and τ̂₀ on D⁰, and blend τ̂(x) = g(x) τ̂₀(x) + (1 − g(x)) τ̂₁(x) with g the propensity e(x)
               (Künzel et al.'s suggested choice). It borrows the big group's outcome model to impute effects for the
               small group, which is where it beats the T-learner.
PEHE (Hill 2011): √ mean (τ̂(x) − τ(x))², only computable when the true effects are known (semi-synthetic data).
Qini curve (Radcliffe 2007): rank people by τ̂, and for the top k report Q(k) = Y_T(k) − Y_C(k) · N_T(k)/N_C(k),
the extra outcome among the treated in the top k over what the same number of controls would have had; the Qini
coefficient is the area between this curve and the straight line of a random ranking, per person.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Regressor = Callable[[], object]   # a factory of sklearn-style regressors (fit / predict)


def naive_effect(t, y) -> float:
    t, y = np.asarray(t).astype(bool), np.asarray(y, dtype=float)
    return float(y[t].mean() - y[~t].mean())


def t_learner(X, t, y, make: Regressor):
    """τ̂(·) of the T-learner: one outcome model per arm."""
    t = np.asarray(t).astype(bool)
    m0, m1 = make().fit(X[~t], y[~t]), make().fit(X[t], y[t])
    return lambda Z: m1.predict(Z) - m0.predict(Z)


def x_learner(X, t, y, make: Regressor, propensity: Callable):
    """τ̂(·) of the X-learner with the blend g(x) = propensity(x) (the estimated P(T = 1 | x))."""
    t = np.asarray(t).astype(bool)
    m0, m1 = make().fit(X[~t], y[~t]), make().fit(X[t], y[t])
    d1 = y[t] - m0.predict(X[t])        # imputed effects of the treated
    d0 = m1.predict(X[~t]) - y[~t]      # ... and of the controls
    tau1, tau0 = make().fit(X[t], d1), make().fit(X[~t], d0)

    def tau(Z):
        g = propensity(Z)
        return g * tau0.predict(Z) + (1.0 - g) * tau1.predict(Z)
    return tau


def pehe(tau_hat, tau_true) -> float:
    """Precision in estimating heterogeneous effects: root mean squared error of τ̂ against the true τ."""
    return float(np.sqrt(np.mean((np.asarray(tau_hat, dtype=float) - np.asarray(tau_true, dtype=float)) ** 2)))


def qini_curve(score, t, y) -> tuple[np.ndarray, np.ndarray]:
    """(k, Q(k)) at k = 0 and at the end of each run of tied scores, people ranked by descending score.

    Ties are kept together (a constant score gives only the end points: the random line)."""
    score, t, y = np.asarray(score, dtype=float), np.asarray(t).astype(bool), np.asarray(y, dtype=float)
    order = np.argsort(-score, kind="stable")
    s, tt, yy = score[order], t[order], y[order]
    n_t, n_c = np.cumsum(tt), np.cumsum(~tt)
    y_t, y_c = np.cumsum(yy * tt), np.cumsum(yy * ~tt)
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]      # last index of each tie run
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(n_c[ends] > 0, y_t[ends] - y_c[ends] * n_t[ends] / np.maximum(n_c[ends], 1), y_t[ends])
    return np.r_[0, ends + 1], np.r_[0.0, q]


def qini_coefficient(score, t, y) -> float:
    """Area between the Qini curve and the random-ranking line (0, 0)–(n, Q(n)), divided by n² (per person per rank)."""
    k, q = qini_curve(score, t, y)
    n = k[-1]
    random_line = q[-1] * k / n
    return float(np.trapezoid(q - random_line, k) / n**2)


def semi_synthetic_pima(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(propensity e(x), baseline μ₀(x), effect τ(x)) on standardised Pima covariates. Treatment is more likely for
    high glucose and age, which also raise the outcome (confounding); the effect grows with glucose and BMI."""
    glu, bmi, age, ped = Z[:, 1], Z[:, 4], Z[:, 6], Z[:, 5]
    e = 1.0 / (1.0 + np.exp(-(-1.0 + 1.0 * glu + 0.5 * age)))
    mu0 = 2.0 * glu + 1.0 * bmi + 0.5 * age + 0.5 * np.sin(2.0 * ped)
    tau = 1.0 + 1.5 * np.tanh(glu) + 0.5 * bmi
    return e, mu0, tau
