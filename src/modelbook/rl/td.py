"""Tabular TD control: Q-learning, SARSA, expected SARSA and double Q-learning, many independent runs at once.

All four move Q(s,a) toward a one-step target with step size α:

    Q(s,a) <- Q(s,a) + α [ r + γ (1 - done) · next - Q(s,a) ]

and differ only in `next`:

    Q-learning       max_a' Q(s',a')                     off-policy: learns the greedy policy's values
    SARSA            Q(s',a'), a' the action taken next   on-policy: learns the ε-greedy policy's values
    expected SARSA   Σ_a' π_ε(a'|s') Q(s',a')             on-policy, without the sampling noise of a'
    double Q         Q_B(s', argmax_a' Q_A(s',a'))        one table picks, the other evaluates (a coin
                                                          chooses which table is A at each step)

On CliffWalking this is the whole of Sutton & Barto's Example 6.6: Q-learning's values are those of the
cliff-edge path, so its ε-greedy behaviour falls in now and then; SARSA's values include its own
exploration, so it learns the longer safe path and earns more online. On the maximisation-bias MDP
(Example 6.7), max over noisy estimates is biased upward; double Q removes that bias (van Hasselt 2010).

Every run is independent (its own Q table, episode counter and state); the loop steps all unfinished
runs together with numpy, so 50 runs cost about as much as one. Ties in argmax are broken at random,
as in the book: with Q initialised to 0 a fixed tie-break would bias early behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelbook.rl.mdp import TabularMDP

METHODS = ("q_learning", "sarsa", "expected_sarsa", "double_q")


def argmax_random_ties(q: np.ndarray, valid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """q, valid: (n, A) -> (n,) an argmax over valid actions, ties broken uniformly at random."""
    qm = np.where(valid, q, -np.inf)
    best = qm == qm.max(-1, keepdims=True)
    return np.argmax(np.where(best, rng.random(q.shape), -1.0), -1)


def epsilon_greedy(q: np.ndarray, valid: np.ndarray, epsilon: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """q, valid: (n, A); epsilon: (n,) -> actions (n,): uniform over valid actions with probability ε, else greedy."""
    greedy = argmax_random_ties(q, valid, rng)
    uniform = np.argmax(np.where(valid, rng.random(q.shape), -1.0), -1)
    return np.where(rng.random(len(q)) < epsilon, uniform, greedy)


@dataclass
class TDRuns:
    Q: np.ndarray
    """final action values (R, S, A); for double Q the sum Q_A + Q_B, which its behaviour policy uses"""
    returns: np.ndarray
    """sum of rewards of every episode while learning (R, E): the 'online' performance of S&B's figures"""
    lengths: np.ndarray
    """steps per episode (R, E)"""
    first_actions: np.ndarray
    """the action taken in the start state of each episode (R, E) (Example 6.7 counts 'left')"""


def td_control(mdp: TabularMDP, method: str, n_runs: int, n_episodes: int, alpha: float, gamma: float,
               epsilon: np.ndarray | float, rng: np.random.Generator, q_init: float = 0.0,
               max_steps: int = 10_000) -> TDRuns:
    """Run `n_runs` independent learners for `n_episodes` episodes each.

    epsilon: a constant or an (n_episodes,) schedule indexed by each run's episode number.
    max_steps: an episode longer than this is cut (counted as finished, not as terminal).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    R, S, A = n_runs, mdp.n_states, mdp.n_actions
    eps_sched = np.broadcast_to(np.asarray(epsilon, dtype=float), (n_episodes,))
    tables = np.full((2 if method == "double_q" else 1, R, S, A), q_init, dtype=float)
    tables[:, :, ~mdp.valid] = 0.0

    def behaviour_q(runs, states):                                       # (n, A): what the ε-greedy policy sees
        return tables[:, runs, states].sum(0)

    returns = np.zeros((R, n_episodes))
    lengths = np.zeros((R, n_episodes), dtype=np.int64)
    first_actions = np.zeros((R, n_episodes), dtype=np.int64)
    episode = np.zeros(R, dtype=np.int64)
    s = mdp.reset(R, rng)
    a = epsilon_greedy(behaviour_q(np.arange(R), s), mdp.valid[s], eps_sched[0], rng)
    ep_return = np.zeros(R)
    ep_length = np.zeros(R, dtype=np.int64)

    while True:
        runs = np.flatnonzero(episode < n_episodes)
        if len(runs) == 0:
            break
        si = s[runs]
        eps = eps_sched[episode[runs]]
        # -- the algorithm --
        if method != "sarsa":  # SARSA already chose this action when it formed the previous target
            a[runs] = epsilon_greedy(behaviour_q(runs, si), mdp.valid[si], eps, rng)
        ai = a[runs]
        s2, r, done = mdp.step(si, ai, rng)
        valid2 = mdp.valid[s2]
        which = np.zeros(len(runs), dtype=np.int64)
        if method == "q_learning":
            nxt = np.where(valid2, tables[0, runs, s2], -np.inf).max(-1)
        elif method == "sarsa":
            a2 = epsilon_greedy(tables[0, runs, s2], valid2, eps, rng)
            nxt = tables[0, runs, s2, a2]
        elif method == "expected_sarsa":
            q2 = tables[0, runs, s2]
            greedy = np.where(valid2, q2, -np.inf)
            best = greedy == greedy.max(-1, keepdims=True)
            pi = eps[:, None] * valid2 / valid2.sum(-1, keepdims=True) + (1 - eps[:, None]) * best / best.sum(-1, keepdims=True)
            nxt = (pi * q2).sum(-1)
        else:  # double Q: table `which` is updated with its own argmax, valued by the other table
            which = (rng.random(len(runs)) < 0.5).astype(np.int64)
            a_star = argmax_random_ties(tables[which, runs, s2], valid2, rng)
            nxt = tables[1 - which, runs, s2, a_star]
        target = r + gamma * np.where(done, 0.0, nxt)
        tables[which, runs, si, ai] += alpha * (target - tables[which, runs, si, ai])

        # -- bookkeeping --
        starting = ep_length[runs] == 0
        first_actions[runs[starting], episode[runs[starting]]] = ai[starting]
        ep_return[runs] += r
        ep_length[runs] += 1
        ended = done | (ep_length[runs] >= max_steps)
        fin, cont = runs[ended], runs[~ended]
        returns[fin, episode[fin]] = ep_return[fin]
        lengths[fin, episode[fin]] = ep_length[fin]
        episode[fin] += 1
        ep_return[fin], ep_length[fin] = 0.0, 0
        s[cont] = s2[~ended]
        if method == "sarsa":
            a[cont] = a2[~ended]
        if len(fin):
            s[fin] = mdp.reset(len(fin), rng)
            if method == "sarsa":
                live = episode[fin] < n_episodes
                eps_new = eps_sched[np.minimum(episode[fin], n_episodes - 1)]
                a[fin] = np.where(live, epsilon_greedy(tables[0, fin, s[fin]], mdp.valid[s[fin]], eps_new, rng), 0)
    return TDRuns(tables.sum(0), returns, lengths, first_actions)
