"""Tabular MDPs as arrays: built from gymnasium's transition tables or by hand, solved exactly, sampled in bulk.

A finite MDP with S states, A actions and at most K outcomes per (s, a):

    prob[s, a, k]        P(outcome k | s, a)                                   (S, A, K)
    next_state[s, a, k]  the state outcome k leads to                          (S, A, K)
    reward[s, a, k]      its mean reward                                       (S, A, K)
    done[s, a, k]        whether outcome k ends the episode                    (S, A, K)
    reward_std[s, a]     Gaussian noise added to the reward (0 for gymnasium's toy-text envs)
    valid[s, a]          which actions exist in s (S&B's maximisation-bias MDP has 2 in A, 10 in B)

gymnasium's toy-text envs (CliffWalking, FrozenLake, Taxi) expose exactly this table as `env.unwrapped.P`
({s: {a: [(p, s', r, terminated), ...]}}) and step by sampling from it, so `from_gymnasium` gives the same
environment in a form that many independent runs can step at once (tests/rl/test_mdp.py steps both).

Exact solutions (no sampling):
    value iteration      Q(s,a) <- Σ_k p_k [r_k + γ (1 - done_k) max_a' Q(s'_k, a')]   (or the best ε-greedy policy)
    policy evaluation    V = r_π + γ P_π V, solved as a linear system (or iterated H times for a horizon H)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TabularMDP:
    prob: np.ndarray
    next_state: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    start: np.ndarray
    """initial-state distribution (S,)"""
    reward_std: np.ndarray
    valid: np.ndarray
    shape: tuple[int, int] | None = None
    """grid shape (rows, cols) for grid worlds, for drawing paths"""

    @property
    def n_states(self) -> int:
        return self.prob.shape[0]

    @property
    def n_actions(self) -> int:
        return self.prob.shape[1]

    # -- sampling many independent runs at once -------------------------------------------------------
    def reset(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n start states, (n,) int."""
        return np.minimum(np.searchsorted(np.cumsum(self.start), rng.random(n), side="right"), self.n_states - 1)

    def step(self, s: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """s, a: (n,) -> next state (n,), reward (n,), done (n,) bool."""
        cum = self.prob[s, a].cumsum(-1)                                   # (n, K)
        k = (rng.random(len(s))[:, None] > cum).sum(-1)                     # inverse-CDF sample of the outcome
        k = np.minimum(k, self.prob.shape[2] - 1)
        r = self.reward[s, a, k]
        if self.reward_std.any():
            r = r + self.reward_std[s, a] * rng.standard_normal(len(s))
        return self.next_state[s, a, k], r, self.done[s, a, k]


def from_gymnasium(env) -> TabularMDP:
    """The transition table of a gymnasium toy-text env (CliffWalking, FrozenLake, Taxi) as arrays."""
    u = env.unwrapped
    P = u.P
    S, A = u.observation_space.n, u.action_space.n
    K = max(len(P[s][a]) for s in range(S) for a in range(A))
    prob = np.zeros((S, A, K))
    nxt = np.zeros((S, A, K), dtype=np.int64)
    rew = np.zeros((S, A, K))
    done = np.zeros((S, A, K), dtype=bool)
    for s in range(S):
        for a in range(A):
            for k, (p, s2, r, terminated) in enumerate(P[s][a]):
                prob[s, a, k], nxt[s, a, k], rew[s, a, k], done[s, a, k] = p, s2, r, terminated
            nxt[s, a, len(P[s][a]):] = s  # padding outcomes have probability 0
    shape = tuple(u.shape) if hasattr(u, "shape") else (tuple(u.desc.shape) if hasattr(u, "desc") else None)
    return TabularMDP(prob, nxt, rew, done, np.asarray(u.initial_state_distrib, dtype=float),
                      np.zeros((S, A)), np.ones((S, A), dtype=bool), shape)


def maximization_bias_mdp(n_b_actions: int = 10, mean: float = -0.1, std: float = 1.0) -> TabularMDP:
    """Sutton & Barto Example 6.7: from A, 'right' ends the episode (reward 0) and 'left' goes to B (reward 0);
    every one of B's actions ends it with reward ~ N(-0.1, 1). Going left is worse in expectation, but the
    max over B's noisy estimates is positive early on, which lures Q-learning left.

    States: 0 = A, 1 = B. Actions in A: 0 = right, 1 = left. A (padded) = max(2, n_b_actions).
    """
    S, A = 2, max(2, n_b_actions)
    prob = np.zeros((S, A, 1))
    nxt = np.zeros((S, A, 1), dtype=np.int64)
    rew = np.zeros((S, A, 1))
    done = np.ones((S, A, 1), dtype=bool)
    std_ = np.zeros((S, A))
    valid = np.zeros((S, A), dtype=bool)
    valid[0, :2] = True
    valid[1, :n_b_actions] = True
    prob[valid] = 1.0
    nxt[0, 1, 0], done[0, 1, 0] = 1, False              # left: A -> B, not terminal
    rew[1, :n_b_actions, 0] = mean
    std_[1, :n_b_actions] = std
    return TabularMDP(prob, nxt, rew, done, np.array([1.0, 0.0]), std_, valid)


# -- exact solutions ------------------------------------------------------------------------------------
def value_iteration(mdp: TabularMDP, gamma: float, epsilon: float = 0.0, tol: float = 1e-12,
                    max_iter: int = 100_000) -> np.ndarray:
    """Action values (S, A) of the best policy; invalid actions get -inf.

    The backup is Q(s,a) <- Σ_k p_k [r_k + γ (1 - done_k) V(s'_k)] with
        V(s) = max_a Q(s,a)                                  epsilon = 0: the optimal Q*
        V(s) = (1 - ε) max_a Q(s,a) + ε mean_a Q(s,a)        epsilon > 0: the best ε-greedy policy
    The second is where SARSA (and expected SARSA) converge when ε stays fixed: they learn the values of the
    policy they follow, exploration included, so they prefer paths on which a random step costs little.
    """
    Q = np.zeros((mdp.n_states, mdp.n_actions))
    expected_r = (mdp.prob * mdp.reward).sum(-1)                                  # (S, A)
    n_valid = mdp.valid.sum(-1)
    for _ in range(max_iter):
        V = (1 - epsilon) * np.where(mdp.valid, Q, -np.inf).max(-1) + epsilon * (Q * mdp.valid).sum(-1) / n_valid
        Q_new = expected_r + gamma * (mdp.prob * (1 - mdp.done) * V[mdp.next_state]).sum(-1)
        converged = np.abs(Q_new - Q)[mdp.valid].max() < tol
        Q = Q_new
        if converged:
            break
    return np.where(mdp.valid, Q, -np.inf)


def epsilon_greedy_probs(Q: np.ndarray, epsilon: float, valid: np.ndarray | None = None) -> np.ndarray:
    """π(a|s) of the ε-greedy policy on Q (S, A): ε spread over valid actions, 1 - ε over the greedy ones (ties split)."""
    valid = np.ones_like(Q, dtype=bool) if valid is None else valid
    Qm = np.where(valid, Q, -np.inf)
    best = np.isclose(Qm, Qm.max(-1, keepdims=True), rtol=0, atol=1e-12) & valid
    return epsilon * valid / valid.sum(-1, keepdims=True) + (1 - epsilon) * best / best.sum(-1, keepdims=True)


def policy_evaluation(mdp: TabularMDP, pi: np.ndarray, gamma: float, horizon: int | None = None) -> np.ndarray:
    """V^π (S,) for a stochastic policy pi (S, A).

    horizon=None solves the infinite-horizon linear system (I - γ P_π) V = r_π, which needs γ < 1 or a policy
    that ends every episode with probability 1. horizon=H gives the expected return within H steps
    (gymnasium's TimeLimit), by iterating V_{h+1} = r_π + γ P_π V_h from V_0 = 0.
    """
    S = mdp.n_states
    r_pi = (pi * (mdp.prob * mdp.reward).sum(-1)).sum(-1)                         # (S,)
    P_pi = np.zeros((S, S))
    cont = pi[..., None] * mdp.prob * (1 - mdp.done)                              # (S, A, K) mass that continues
    np.add.at(P_pi, (np.repeat(np.arange(S), mdp.n_actions * mdp.prob.shape[2]), mdp.next_state.ravel()), cont.ravel())
    if horizon is None:
        return np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)
    V = np.zeros(S)
    for _ in range(horizon):
        V = r_pi + gamma * P_pi @ V
    return V


def greedy_path(mdp: TabularMDP, Q: np.ndarray, max_steps: int = 200) -> tuple[list[int], float]:
    """Follow argmax Q from the most likely start state, taking the most likely outcome each step.

    Returns the visited states and the return; a path that does not end within max_steps returns -inf
    (the greedy policy loops). Meant for deterministic grid worlds such as CliffWalking.
    """
    s = int(np.argmax(mdp.start))
    path, total = [s], 0.0
    for _ in range(max_steps):
        a = int(np.argmax(np.where(mdp.valid[s], Q[s], -np.inf)))
        k = int(np.argmax(mdp.prob[s, a]))
        total += mdp.reward[s, a, k]
        ends = bool(mdp.done[s, a, k])
        s = int(mdp.next_state[s, a, k])
        path.append(s)
        if ends:
            return path, total
    return path, float("-inf")
