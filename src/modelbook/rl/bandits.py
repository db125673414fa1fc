"""Multi-armed bandits, vectorised over independent runs: the 10-armed testbed, ε-greedy, UCB, UCB1.

The testbed (Sutton & Barto §2.3): each run draws true values q*(a) ~ N(0, 1) for K = 10 arms; pulling arm
a pays R ~ N(q*(a), 1). An agent keeps sample-average estimates

    Q(a) <- Q(a) + (R - Q(a)) / N(a)

and picks, at step t (1-based),

    ε-greedy   argmax_a Q(a) with probability 1 - ε, else a uniformly random arm
    UCB        argmax_a Q(a) + c sqrt(ln t / N(a)), an untried arm first (S&B eq. 2.10)

The best any agent can average is E[max_a q*(a)], which for 10 standard normals is 1.5388 (computed
exactly by `expected_max_of_normals`), the ceiling in S&B Figure 2.2.

UCB1 (Auer, Cesa-Bianchi & Fischer 2002) is UCB with c = √2 on rewards in [0, 1], here Bernoulli arms
with means μ_i. Its (pseudo-)regret after n pulls, Σ_t (μ* - μ_{A_t}), grows like log n; their Theorem 1
bounds its expectation by

    8 Σ_{i: Δ_i > 0} ln n / Δ_i  +  (1 + π²/3) Σ_i Δ_i,      Δ_i = μ* - μ_i,

while no consistent policy can beat the Lai & Robbins (1985) rate Σ_i Δ_i ln n / KL(μ_i, μ*).
ε-greedy with a fixed ε keeps pulling bad arms a fixed fraction of the time, so its regret is linear.

How a measured regret curve is told apart: `log_fit` fits a + b ln n (b lies between the Lai–Robbins rate and
the bound's coefficient 8 Σ 1/Δ, `ucb1_log_coefficient`), and `last_decade_loglog_slope` is the exponent p of
regret ∝ n^p over the last tenfold of n (1 for linear regret, near 0 for logarithmic).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def expected_max_of_normals(k: int = 10) -> float:
    """E[max of k iid N(0,1)] = ∫ x · k φ(x) Φ(x)^(k-1) dx (numerical quadrature)."""
    from scipy import integrate, stats

    value, _ = integrate.quad(lambda x: x * k * stats.norm.pdf(x) * stats.norm.cdf(x) ** (k - 1), -np.inf, np.inf)
    return float(value)


@dataclass
class BanditRuns:
    rewards: np.ndarray
    """reward received at each step (R, T)"""
    optimal: np.ndarray
    """whether the chosen arm was the best one (R, T) bool"""
    regret: np.ndarray
    """pseudo-regret per step, max q* - q*(chosen arm) (R, T)"""


def make_testbed(n_runs: int, n_arms: int, rng: np.random.Generator) -> np.ndarray:
    """True arm values q* (R, K) ~ N(0, 1)."""
    return rng.standard_normal((n_runs, n_arms))


def run_gaussian_bandit(q_star: np.ndarray, n_steps: int, rng: np.random.Generator, epsilon: float = 0.0,
                        ucb_c: float | None = None, q0: float = 0.0, alpha: float | None = None) -> BanditRuns:
    """An agent on the testbed: ε-greedy, or UCB with exploration constant `ucb_c`.

    q_star: (R, K). Estimates start at q0 and move by sample averages, or by a constant step size `alpha`
    (S&B Figure 2.3's optimistic greedy agent: q0 = 5, α = 0.1, whose early disappointments make it try
    every arm). Ties in argmax are broken at random (matters for greedy agents starting at Q = q0).
    """
    R, K = q_star.shape
    rows = np.arange(R)
    Q = np.full((R, K), q0, dtype=float)
    N = np.zeros((R, K))
    best = q_star.argmax(1)
    rewards = np.zeros((R, n_steps))
    optimal = np.zeros((R, n_steps), dtype=bool)
    regret = np.zeros((R, n_steps))
    for t in range(n_steps):
        # -- the algorithm --
        if ucb_c is None:
            score = Q
        else:
            bonus = ucb_c * np.sqrt(np.log(t + 1) / np.maximum(N, 1))
            score = np.where(N > 0, Q + bonus, np.inf)
        ties = score == score.max(1, keepdims=True)
        a = np.argmax(np.where(ties, rng.random((R, K)), -1.0), 1)
        if epsilon > 0:
            explore = rng.random(R) < epsilon
            a = np.where(explore, rng.integers(0, K, R), a)
        r = q_star[rows, a] + rng.standard_normal(R)
        N[rows, a] += 1
        Q[rows, a] += (r - Q[rows, a]) * (alpha if alpha is not None else 1.0 / N[rows, a])
        # -- bookkeeping --
        rewards[:, t] = r
        optimal[:, t] = a == best
        regret[:, t] = q_star[rows, best] - q_star[rows, a]
    return BanditRuns(rewards, optimal, regret)


def run_bernoulli_bandit(means: np.ndarray, n_runs: int, n_steps: int, rng: np.random.Generator,
                         policy: str = "ucb1", epsilon: float = 0.1) -> np.ndarray:
    """Mean cumulative pseudo-regret (n_steps,) over runs of UCB1 or fixed-ε greedy on Bernoulli arms."""
    means = np.asarray(means, dtype=float)
    K = len(means)
    rows = np.arange(n_runs)
    S = np.zeros((n_runs, K))                    # reward sums
    N = np.zeros((n_runs, K))                    # pull counts
    gaps = means.max() - means
    step_regret = np.zeros(n_steps)
    for t in range(n_steps):
        # -- the algorithm --
        if policy == "ucb1":
            if t < K:                            # pull each arm once
                a = np.full(n_runs, t)
            else:
                index = S / N + np.sqrt(2.0 * np.log(t) / N)   # t = number of pulls so far
                a = index.argmax(1)
        elif policy == "epsilon_greedy":
            mean_est = np.where(N > 0, S / np.maximum(N, 1), np.inf)
            greedy = mean_est.argmax(1)
            a = np.where(rng.random(n_runs) < epsilon, rng.integers(0, K, n_runs), greedy)
        else:
            raise ValueError(f"policy must be 'ucb1' or 'epsilon_greedy', got {policy!r}")
        r = (rng.random(n_runs) < means[a]).astype(float)
        S[rows, a] += r
        N[rows, a] += 1
        # -- bookkeeping --
        step_regret[t] = gaps[a].mean()
    return np.cumsum(step_regret)


def ucb1_regret_bound(means: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """Auer et al. 2002, Theorem 1: the upper bound on UCB1's expected regret after n pulls."""
    means = np.asarray(means, dtype=float)
    gaps = means.max() - means
    pos = gaps[gaps > 0]
    return 8 * np.log(n) * (1.0 / pos).sum() + (1 + np.pi ** 2 / 3) * gaps.sum()


def lai_robbins_rate(means: np.ndarray) -> float:
    """The asymptotic lower-bound slope of regret vs ln n: Σ_i Δ_i / KL(Bernoulli(μ_i) || Bernoulli(μ*))."""
    means = np.asarray(means, dtype=float)
    mu_star = means.max()
    total = 0.0
    for mu in means[means < mu_star]:
        kl = mu * np.log(mu / mu_star) + (1 - mu) * np.log((1 - mu) / (1 - mu_star))
        total += (mu_star - mu) / kl
    return float(total)


def ucb1_log_coefficient(means: np.ndarray) -> float:
    """The coefficient of ln n in Auer et al.'s Theorem 1 bound: 8 Σ_{i: Δ_i > 0} 1/Δ_i."""
    means = np.asarray(means, dtype=float)
    return 8 * (1 / (means.max() - means[means < means.max()])).sum()


def log_fit(n: np.ndarray, regret: np.ndarray) -> tuple[float, float, float]:
    """Least-squares fit regret ≈ a + b ln n: returns (b, a, R² of the fit)."""
    b, a = np.polyfit(np.log(n), regret, 1)
    pred = a + b * np.log(n)
    r2 = 1 - ((regret - pred) ** 2).sum() / ((regret - regret.mean()) ** 2).sum()
    return b, a, r2


def last_decade_loglog_slope(cumulative_regret: np.ndarray) -> float:
    """log10 of regret(n) / regret(n // 10), n = len(cumulative_regret): the exponent p of regret ∝ n^p over the
    last decade (cumulative_regret[t] is the regret after t + 1 pulls)."""
    decade = len(cumulative_regret) // 10 - 1
    return np.log(cumulative_regret[-1] / cumulative_regret[decade]) / np.log(10)
