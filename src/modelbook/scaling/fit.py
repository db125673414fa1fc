"""The parametric scaling law of Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models", §3.3,
Approach 3): fit, bootstrap, and the compute-optimal allocation it implies.

    L(N, D) = E + A / N^α + B / D^β            N parameters, D training tokens, L final loss (nats per token)

E is the loss of an infinite model trained on infinite data, A / N^α what a finite model gives up, B / D^β what
a finite number of tokens gives up. Hoffmann et al. fit it in log space, with a = log A, b = log B, e = log E:

    minimise  Σ_i  Huber_δ( LSE(a − α log N_i,  b − β log D_i,  e)  −  log L_i ),     δ = 1e-3

with L-BFGS started from every point of a grid (α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −.5, …, 1}, a, b ∈ {0, 5, …, 25})
and the best local minimum kept. Besiroglu et al. 2024 ("Chinchilla Scaling: A replication attempt") traced the
published fit's bias to two details: the Huber losses were averaged instead of summed, which with δ = 1e-3
stopped L-BFGS before it converged, and the estimates were rounded. Here the losses are summed, the gradient is
exact, and the tolerances are tight.

Compute-optimal allocation: with C = 6·N·D FLOPs (Kaplan et al. 2020), minimising L along N·D = C/6 gives
(Hoffmann et al. 2022, §3.3, eq. 4)

    N_opt(C) = G · (C/6)^a,   D_opt(C) = G⁻¹ · (C/6)^b,   G = (α·A / (β·B))^(1/(α+β)),   a = β/(α+β),  b = α/(α+β)

so the ratio of tokens to parameters at the optimum, D_opt / N_opt = G⁻² (C/6)^(b−a), is a constant only when
α = β. E does not move the optimum.

    ScalingLaw(E, A, B, alpha, beta)      loss(N, D), optimal(C) -> (N_opt, D_opt), exponents a and b
    fit_scaling_law(N, D, L, starts)      Approach 3 (the paper's grid, or its `starts` best points refined)
    bootstrap(N, D, L, n, rng)            refits on resampled runs -> array of (E, A, B, alpha, beta)
    HOFFMANN_2022, BESIROGLU_2024         the published fits

Cross-checks: tests/scaling/test_fit.py (recovers a known law from noisy synthetic runs; the closed-form
allocation equals a brute-force minimisation over N on a grid at fixed C; the gradient equals finite differences).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

HUBER_DELTA = 1e-3   # Hoffmann et al. 2022, §3.3
MAX_ITER = 500       # L-BFGS iterations per start: converged fits here take 50–200; degenerate starts stop here
# Hoffmann et al. 2022, §3.3: the grid of initialisations (α, β, e, a, b) for L-BFGS
GRID = {"alpha": np.arange(0.0, 2.01, 0.5), "beta": np.arange(0.0, 2.01, 0.5), "e": np.arange(-1.0, 1.01, 0.5),
        "a": np.arange(0.0, 25.1, 5.0), "b": np.arange(0.0, 25.1, 5.0)}


@dataclass(frozen=True)
class ScalingLaw:
    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, N, D):
        return self.E + self.A / np.asarray(N, float) ** self.alpha + self.B / np.asarray(D, float) ** self.beta

    @property
    def a(self) -> float:
        """N_opt ∝ C^a."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """D_opt ∝ C^b."""
        return self.alpha / (self.alpha + self.beta)

    def optimal(self, C):
        """(N_opt, D_opt) minimising loss(N, D) subject to 6·N·D = C."""
        G = (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))
        c6 = np.asarray(C, float) / 6.0
        return G * c6 ** self.a, c6 ** self.b / G

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return self.E, self.A, self.B, self.alpha, self.beta


# Hoffmann et al. 2022, eq. 10 (as printed; the TeX source has α = 0.3392, β = 0.2849, E = 1.6934)
HOFFMANN_2022 = ScalingLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
# Besiroglu et al. 2024, their refit of Approach 3 on data extracted from Hoffmann et al.'s Figure 4
BESIROGLU_2024 = ScalingLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def _objective(theta: np.ndarray, logN: np.ndarray, logD: np.ndarray, logL: np.ndarray, delta: float):
    """Σ Huber_δ(pred − log L) and its gradient in θ = (a, b, e, α, β)."""
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])   # (3, n)
    top = terms.max(axis=0)
    w = np.exp(terms - top)
    total = w.sum(axis=0)
    pred = top + np.log(total)                                                        # log-sum-exp
    w /= total                                                                        # d pred / d (a, b, e)
    r = pred - logL
    small = np.abs(r) <= delta
    value = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta)).sum()
    dr = np.where(small, r, delta * np.sign(r))                                       # Huber'(r)
    grad = np.array([(dr * w[0]).sum(), (dr * w[1]).sum(), (dr * w[2]).sum(),
                     -(dr * w[0] * logN).sum(), -(dr * w[1] * logD).sum()])
    return value, grad


def _grid_starts() -> np.ndarray:
    """Every grid point as θ = (a, b, e, α, β)."""
    return np.array([(a, b, e, al, be) for al, be, e, a, b in
                     itertools.product(GRID["alpha"], GRID["beta"], GRID["e"], GRID["a"], GRID["b"])])


def _objective_many(thetas: np.ndarray, logN, logD, logL, delta: float) -> np.ndarray:
    """_objective's value at many θ at once (rows of thetas): ranks the grid without a Python loop."""
    a, b, e, alpha, beta = (thetas[:, i:i + 1] for i in range(5))
    terms = np.stack([a - alpha * logN, b - beta * logD, np.broadcast_to(e, (len(thetas), len(logN)))])
    r = np.logaddexp(np.logaddexp(terms[0], terms[1]), terms[2]) - logL
    return np.where(np.abs(r) <= delta, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta)).sum(axis=1)


def _refine(theta0, logN, logD, logL, delta):
    res = minimize(_objective, theta0, args=(logN, logD, logL, delta), jac=True, method="L-BFGS-B",
                   options={"maxiter": MAX_ITER, "ftol": 1e-15, "gtol": 1e-12})
    return res.fun, res.x


def fit_scaling_law(N, D, L, starts: int = 0, delta: float = HUBER_DELTA, inits: np.ndarray | None = None) -> ScalingLaw:
    """Approach 3. starts=0 refines every one of the 4,500 grid points (the paper's procedure); starts=k refines
    only the k grid points with the lowest objective (the same grid, ranked first: much faster). `inits`
    replaces the grid (rows of θ = a, b, e, α, β)."""
    logN, logD, logL = np.log(np.asarray(N, float)), np.log(np.asarray(D, float)), np.log(np.asarray(L, float))
    if not (len(logN) == len(logD) == len(logL)) or len(logN) < 5:
        raise ValueError(f"need at least 5 runs with N, D and L each, got {len(logN)}, {len(logD)}, {len(logL)}")
    grid = _grid_starts() if inits is None else np.atleast_2d(np.asarray(inits, float))
    if starts and starts < len(grid):
        grid = grid[np.argsort(_objective_many(grid, logN, logD, logL, delta), kind="stable")[:starts]]
    best_value, best = math.inf, None
    for theta0 in grid:
        value, theta = _refine(theta0, logN, logD, logL, delta)
        if value < best_value:
            best_value, best = value, theta
    a, b, e, alpha, beta = best
    return ScalingLaw(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=float(alpha), beta=float(beta))


def law_to_theta(law: ScalingLaw) -> np.ndarray:
    return np.array([math.log(law.A), math.log(law.B), math.log(law.E), law.alpha, law.beta])


def bootstrap(N, D, L, n: int, rng: np.random.Generator, start: ScalingLaw, delta: float = HUBER_DELTA) -> np.ndarray:
    """(n, 5) array of (E, A, B, α, β), each refit on the runs resampled with replacement. A refit starts from
    the full-data fit `start` and from the resample's best grid point (the whole grid n times over would
    dominate the lab's time)."""
    N, D, L = (np.asarray(x, float) for x in (N, D, L))
    grid = _grid_starts()
    out = np.empty((n, 5))
    for i in range(n):
        idx = rng.integers(0, len(N), len(N))
        logN, logD, logL = np.log(N[idx]), np.log(D[idx]), np.log(L[idx])
        best_grid = grid[int(np.argmin(_objective_many(grid, logN, logD, logL, delta)))]
        law = fit_scaling_law(N[idx], D[idx], L[idx], delta=delta, inits=np.vstack([law_to_theta(start), best_grid]))
        out[i] = law.as_tuple()
    return out
