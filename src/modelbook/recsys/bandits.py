"""Interactive recommendation as a contextual bandit: LinUCB vs ε-greedy vs random, in a simulator.

Each round a user arrives with K candidate movies; the policy recommends one and sees only that reward. Each
(user, item) pair is described by φ(u, i) = [p_u ⊙ q_i, 1], p and q the factors of a matrix factorisation
trained on the *training* ratings. The simulator is built from the *held-out* ratings: its mean reward is the
ridge fit θ* of held-out ratings (scaled to [0, 1]) on φ, and a round's reward is that mean plus a residual of
the fit drawn at random, so the environment is linear in φ (LinUCB's model is right) and its noise is the data's.

    LinUCB (Li, Chu, Langford & Schapire, WWW 2010; shared θ as in Chu et al. 2011): ridge estimate
        θ̂ = A⁻¹ b, A = I + Σ x xᵀ, b = Σ r x;  pick argmax_a x_aᵀθ̂ + α √(x_aᵀ A⁻¹ x_a)
    ε-greedy: the same ridge estimate, a uniformly random arm with probability ε
    random:   a uniformly random arm

Regret after T rounds = Σ_t (max_a μ(x_a) − μ(x_chosen)). LinUCB's is Õ(d √T) (Chu et al. 2011), fixed-ε greedy's
grows linearly (it explores a fraction ε of rounds forever). All runs are vectorised: (runs, d, d) matrices,
A⁻¹ updated by Sherman–Morrison.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def features(P: np.ndarray, Q: np.ndarray, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    x = P[users] * Q[items]
    return np.concatenate([x, np.ones(x.shape[:-1] + (1,))], -1)


@dataclass
class Simulator:
    P: np.ndarray
    Q: np.ndarray
    theta: np.ndarray
    residuals: np.ndarray
    users: np.ndarray           # users who arrive (uniformly)
    n_items: int
    n_arms: int

    @classmethod
    def from_ratings(cls, P, Q, users, items, ratings, n_arms: int, reg: float = 1.0) -> "Simulator":
        X = features(P, Q, users, items)
        y = ratings / 5.0
        theta = np.linalg.solve(X.T @ X + reg * np.eye(X.shape[1]), X.T @ y)
        return cls(P, Q, theta, y - X @ theta, np.unique(users), Q.shape[0], n_arms)

    def round(self, runs: int, rng: np.random.Generator):
        """(contexts (runs, K, d), mean rewards (runs, K))."""
        u = self.users[rng.integers(0, len(self.users), runs)]
        items = rng.integers(0, self.n_items, (runs, self.n_arms))
        x = features(self.P, self.Q, u[:, None], items)
        return x, x @ self.theta


def run_policies(sim: Simulator, steps: int, runs: int, seed: int, alpha: float = 1.0, epsilon: float = 0.1,
                 reg: float = 1.0) -> dict[str, np.ndarray]:
    """Cumulative regret curves (steps,) averaged over runs, for linucb, eps_greedy and random, on the same
    sequence of users and candidate sets (common random numbers)."""
    d = sim.theta.shape[0]
    rng = np.random.default_rng(seed)
    names = ("linucb", "eps_greedy", "random")
    A_inv = {n: np.broadcast_to(np.eye(d) / reg, (runs, d, d)).copy() for n in names}
    b = {n: np.zeros((runs, d)) for n in names}
    regret = {n: np.zeros(steps) for n in names}
    rows = np.arange(runs)
    for t in range(steps):
        x, mu = sim.round(runs, rng)
        noise = rng.choice(sim.residuals, (runs, sim.n_arms))
        explore = rng.random(runs) < epsilon
        uniform = rng.integers(0, sim.n_arms, runs)
        best = mu.max(1)
        for n in names:
            theta = np.einsum("rij,rj->ri", A_inv[n], b[n])
            est = np.einsum("rkd,rd->rk", x, theta)
            if n == "linucb":
                width = np.sqrt(np.einsum("rkd,rde,rke->rk", x, A_inv[n], x))
                a = (est + alpha * width).argmax(1)
            elif n == "eps_greedy":
                a = np.where(explore, uniform, est.argmax(1))
            else:
                a = uniform
            xa = x[rows, a]                                                              # (runs, d)
            r = mu[rows, a] + noise[rows, a]
            Ax = np.einsum("rij,rj->ri", A_inv[n], xa)
            A_inv[n] -= np.einsum("ri,rj->rij", Ax, Ax) / (1 + np.einsum("ri,ri->r", xa, Ax))[:, None, None]
            b[n] += r[:, None] * xa
            regret[n][t] = (best - mu[rows, a]).mean()
    return {n: np.cumsum(v) for n, v in regret.items()}


def growth_exponent(cum_regret: np.ndarray, start_fraction: float = 0.1) -> float:
    """Slope of log R(t) on log t over t ≥ start_fraction T: 1 for linear regret, 0.5 for √T."""
    t = np.arange(1, len(cum_regret) + 1)
    keep = t >= start_fraction * len(t)
    return float(np.polyfit(np.log(t[keep]), np.log(np.maximum(cum_regret[keep], 1e-12)), 1)[0])


def halves_ratio(cum_regret: np.ndarray) -> float:
    """Regret added in the second half of the rounds over that in the first: 1 for linear, √2 − 1 ≈ 0.41 for √T."""
    h = len(cum_regret) // 2
    return float((cum_regret[-1] - cum_regret[h - 1]) / cum_regret[h - 1])
