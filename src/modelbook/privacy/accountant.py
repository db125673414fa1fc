"""Privacy accounting for DP-SGD with Rényi differential privacy (RDP) of the sampled Gaussian mechanism.

One DP-SGD step samples each example with probability q (Poisson sampling), clips each per-example gradient to
norm C and adds N(0, σ²C²) noise to their sum: a sampled Gaussian mechanism (SGM) with noise multiplier σ.

RDP of one step (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
§3.3). With μ0 = N(0, σ²), μ1 = N(1, σ²) and the mixture μ = (1 − q)μ0 + qμ1, the SGM is (α, ε(α))-RDP with

    ε(α) = log(A_α) / (α − 1),      A_α = E_{z~μ0}[(μ(z)/μ0(z))^α] = E_{z~μ0}[(1 − q + q·exp((2z − 1)/(2σ²)))^α]

  integer α:  expand the binomial and use E[exp(t z)] = exp(σ²t²/2):
              A_α = Σ_{k=0..α} C(α, k) (1 − q)^(α−k) q^k exp((k² − k)/(2σ²))
  any α:      compute the expectation as an integral on a fine grid, in log space. The integrand is smooth
              and decays like a Gaussian on both sides, so the plain trapezoid sum converges exponentially fast
              in the grid step (its error is about exp(−2πd/h) for an integrand analytic in a strip of half-width
              d; here d = πσ², from the poles of log(1 − q + q e^u)). We take h = min(σ, σ²)/8.

Composition: RDP adds up over steps (T steps → T·ε(α)), and the α with the best final guarantee is chosen
at the end.

RDP → (ε, δ): Balle et al. 2020 ("Hypothesis testing interpretations and Rényi DP", Thm 21):

    ε = ε_RDP(α) + log((α − 1)/α) − (log δ + log α) / (α − 1),     minimised over the orders α.

This is the conversion Opacus 1.x uses; the older one, ε = ε_RDP(α) − log δ/(α − 1), is looser (it gives the
ε values printed in Opacus's MNIST README: 1.19, 3.01, 7.10 there; the current accountant gives less for the
same runs). DEFAULT_ORDERS are Opacus's RDPAccountant.DEFAULT_ALPHAS, so ε is comparable digit for digit.
Checked against opacus.accountants.RDPAccountant in tests/privacy/test_accountant.py.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

DEFAULT_ORDERS = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))


def _logsumexp(a: np.ndarray) -> float:
    """log Σ exp(a), shifted by the maximum so nothing overflows (scipy's version is slower on small arrays)."""
    m = float(a.max())
    return m + math.log(float(np.exp(a - m).sum()))


def _log_a_integer(q: float, sigma: float, alpha: int) -> float:
    """log A_α for integer α by the binomial expansion (exact up to rounding)."""
    k = np.arange(alpha + 1)
    log_binom = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
    terms = log_binom + k * math.log(q) + (alpha - k) * math.log1p(-q) + (k * k - k) / (2 * sigma**2)
    return _logsumexp(terms)


def _log_a_quadrature(q: float, sigma: float, alpha: float) -> float:
    """log A_α for any α > 1 by the trapezoid rule on z ∈ [−40σ − 1, α + 40σ + 1] (the integrand peaks between
    z = 0 and z ≈ α)."""
    h = min(sigma, sigma * sigma) / 8
    z = np.arange(-40 * sigma - 1, alpha + 40 * sigma + 1, h)
    log_density = -z * z / (2 * sigma**2) - math.log(sigma * math.sqrt(2 * math.pi))
    log_ratio = np.logaddexp(math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * sigma**2))  # log(1 − q + q e^u)
    return _logsumexp(log_density + alpha * log_ratio) + math.log(h)


def rdp_sampled_gaussian(q: float, sigma: float, orders=DEFAULT_ORDERS) -> np.ndarray:
    """ε_RDP(α) of ONE step of the sampled Gaussian mechanism, for each order α > 1."""
    orders = np.atleast_1d(np.asarray(orders, dtype=float))
    if q == 0:
        return np.zeros_like(orders)
    if sigma == 0:
        return np.full_like(orders, np.inf)
    if q == 1:
        return orders / (2 * sigma**2)  # the plain Gaussian mechanism
    out = []
    for a in orders:
        log_a = _log_a_integer(q, sigma, int(a)) if float(a).is_integer() else _log_a_quadrature(q, sigma, a)
        out.append(log_a / (a - 1))
    return np.array(out)


def epsilon_from_rdp(rdp: np.ndarray, delta: float, orders=DEFAULT_ORDERS, conversion: str = "balle2020") -> tuple[float, float]:
    """(ε, the order α that gives it) for the composed RDP curve `rdp` at this δ.

    conversion "balle2020" (Opacus ≥ 1.0) or "classic" (ε_RDP − log δ/(α − 1), Mironov 2017 Prop. 3)."""
    a, r = np.asarray(orders, dtype=float), np.asarray(rdp, dtype=float)
    if conversion == "balle2020":
        eps = r + np.log((a - 1) / a) - (np.log(delta) + np.log(a)) / (a - 1)
    elif conversion == "classic":
        eps = r - np.log(delta) / (a - 1)
    else:
        raise ValueError(f"unknown conversion {conversion!r}")
    i = int(np.nanargmin(eps))
    return float(eps[i]), float(a[i])


def epsilon(sigma: float, q: float, steps: int, delta: float, orders=DEFAULT_ORDERS, conversion: str = "balle2020") -> float:
    """ε after `steps` DP-SGD steps with noise multiplier σ and sampling rate q, at this δ."""
    return epsilon_from_rdp(steps * rdp_sampled_gaussian(q, sigma, orders), delta, orders, conversion)[0]


def noise_multiplier_for(target_epsilon: float, q: float, steps: int, delta: float, tol: float = 1e-4) -> float:
    """The smallest σ whose ε (RDP accountant) is ≤ target_epsilon, by bisection (ε falls as σ grows)."""
    lo, hi = 0.0, 1.0
    while epsilon(hi, q, steps, delta) > target_epsilon:
        lo, hi = hi, 2 * hi
        if hi > 1e4:
            raise ValueError(f"no noise multiplier reaches ε={target_epsilon} with q={q}, {steps} steps")
    while hi - lo > tol * hi:
        mid = (lo + hi) / 2
        if epsilon(mid, q, steps, delta) > target_epsilon:
            lo = mid
        else:
            hi = mid
    return hi


class RDPAccountant:
    """Keeps (σ, q, steps) for each phase of training and reports ε for a δ, like Opacus's RDPAccountant."""

    def __init__(self, orders=DEFAULT_ORDERS):
        self.orders = tuple(orders)
        self.history: list[list] = []  # [sigma, q, steps]

    def step(self, noise_multiplier: float, sample_rate: float, n: int = 1) -> None:
        if self.history and self.history[-1][:2] == [noise_multiplier, sample_rate]:
            self.history[-1][2] += n
        else:
            self.history.append([noise_multiplier, sample_rate, n])

    def get_epsilon(self, delta: float) -> float:
        if not self.history:
            return 0.0
        rdp = sum(steps * rdp_sampled_gaussian(q, sigma, self.orders) for sigma, q, steps in self.history)
        return epsilon_from_rdp(rdp, delta, self.orders)[0]
