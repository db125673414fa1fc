"""GARCH(1,1) with a constant mean and normal innovations: likelihood, maximum-likelihood fit, forecasts.

    r_t = μ + ε_t,   ε_t = σ_t z_t,   z_t ~ N(0, 1)
    σ²_t = ω + α ε²_{t−1} + β σ²_{t−1}                      (Bollerslev 1986)
    ℓ = −½ Σ_t [ln 2π + ln σ²_t + ε²_t / σ²_t]

The recursion needs a value for ε²_{−1} and σ²_{−1}. We use the `arch` package's backcast so the two
likelihoods are the same function: the exponentially weighted mean of the first min(75, n) squared residuals
(weights 0.94^i, normalised), with the residuals taken about the sample mean (arch's starting value for μ).
The recursion σ²_t − βσ²_{t−1} = ω + αε²_{t−1} is a first-order linear filter, so it runs as
scipy.signal.lfilter instead of a Python loop.

The fit maximises ℓ with SLSQP under ω > 0, α, β ≥ 0, α + β < 1 (covariance stationarity), from the best
of a small grid of (α, β), as arch does. Returns should be scaled to percent (r·100): with decimal returns ω is
~1e-6 and the optimiser's default tolerances stop early, which is why arch warns about scale.

Cross-checks: tests/finance/test_garch.py (ℓ at arch's estimates = arch's ℓ; our estimates = arch's).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

BACKCAST_SPAN, BACKCAST_DECAY = 75, 0.94   # arch's backcast: first 75 squared residuals, RiskMetrics decay


@dataclass(frozen=True)
class GarchFit:
    mu: float
    omega: float
    alpha: float
    beta: float
    loglik: float
    backcast: float

    @property
    def params(self) -> np.ndarray:
        return np.array([self.mu, self.omega, self.alpha, self.beta])

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def long_run_variance(self) -> float:
        return self.omega / (1 - self.alpha - self.beta)


def backcast(resids) -> float:
    e2 = np.asarray(resids, dtype=float)[:BACKCAST_SPAN] ** 2
    w = BACKCAST_DECAY ** np.arange(len(e2))
    return float(np.sum(e2 * w / w.sum()))


def conditional_variance(resids, omega: float, alpha: float, beta: float, backcast_value: float) -> np.ndarray:
    """σ²_t for t = 0 … n−1, with ε²_{−1} = σ²_{−1} = backcast_value."""
    e2 = np.asarray(resids, dtype=float) ** 2
    drive = omega + alpha * np.r_[backcast_value, e2[:-1]]
    return signal.lfilter([1.0], [1.0, -beta], drive, zi=[beta * backcast_value])[0]


def loglik(params, returns, backcast_value: float | None = None) -> float:
    """ℓ(μ, ω, α, β) of the returns; backcast from the residuals about the sample mean unless given."""
    mu, omega, alpha, beta = params
    r = np.asarray(returns, dtype=float)
    bc = backcast(r - r.mean()) if backcast_value is None else backcast_value
    eps = r - mu
    s2 = conditional_variance(eps, omega, alpha, beta, bc)
    return float(-0.5 * np.sum(np.log(2 * np.pi) + np.log(s2) + eps ** 2 / s2))


def fit(returns) -> GarchFit:
    r = np.asarray(returns, dtype=float)
    bc = backcast(r - r.mean())
    var = r.var()

    def nll(p):
        return -loglik(p, r, bc)

    starts = [np.array([r.mean(), var * (1 - a - b), a, b]) for a in (0.03, 0.05, 0.1, 0.2) for b in (0.75, 0.85, 0.9)
              if a + b < 1]
    x0 = min(starts, key=nll)
    bounds = [(-10 * abs(r.mean()) - r.std(), 10 * abs(r.mean()) + r.std()), (1e-8 * var, 10 * var), (0.0, 1.0), (0.0, 1.0)]
    cons = [{"type": "ineq", "fun": lambda p: 1 - 1e-6 - p[2] - p[3]}]
    res = optimize.minimize(nll, x0, method="SLSQP", bounds=bounds, constraints=cons,
                            options={"ftol": 1e-10, "maxiter": 500})
    mu, omega, alpha, beta = res.x
    return GarchFit(float(mu), float(omega), float(alpha), float(beta), float(-res.fun), bc)


def filter_variance(fit_: GarchFit, returns_fit, returns_after) -> np.ndarray:
    """One-step-ahead σ² for each day of `returns_after`, running the fitted recursion on from the fit sample.

    Entry i uses the returns up to returns_after[i − 1] only."""
    eps_all = np.r_[np.asarray(returns_fit, dtype=float), np.asarray(returns_after, dtype=float)] - fit_.mu
    s2 = conditional_variance(eps_all, fit_.omega, fit_.alpha, fit_.beta, fit_.backcast)
    return s2[len(returns_fit):]


def walk_forward_variance(r: np.ndarray, start: int, refit: int) -> tuple[np.ndarray, list[GarchFit]]:
    """One-step σ² for days start … n−1: refit on all returns before each refit day, roll the recursion between."""
    s2, fits = np.empty(len(r) - start), []
    for t0 in range(start, len(r), refit):
        f = fit(r[:t0])
        fits.append(f)
        block = slice(t0, min(len(r), t0 + refit))
        s2[block.start - start: block.stop - start] = filter_variance(f, r[:t0], r[block])
    return s2, fits
