"""Tabular TD control against exact dynamic programming."""
import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from modelbook.rl.mdp import from_gymnasium, maximization_bias_mdp, value_iteration
from modelbook.rl.td import argmax_random_ties, epsilon_greedy, td_control


def test_q_learning_converges_to_value_iterations_qstar():
    """Deterministic env, α = 1, random behaviour (ε = 1), γ = 0.5: Q-learning is asynchronous value
    iteration and its Q equals value iteration's Q* to 1e-9. Episodes start anywhere (exploring starts)
    and are cut after 20 steps, a cut that is not terminal, so the targets still bootstrap."""
    mdp = from_gymnasium(gym.make("CliffWalking-v1"))
    reachable = np.ones(mdp.n_states, dtype=bool)
    reachable[37:] = False                          # the cliff cells are never occupied, the goal is terminal
    mdp = dataclasses.replace(mdp, start=reachable / reachable.sum())
    q_star = value_iteration(mdp, 0.5)
    runs = td_control(mdp, "q_learning", 1, 1500, alpha=1.0, gamma=0.5, epsilon=1.0,
                      rng=np.random.default_rng(0), max_steps=20)
    np.testing.assert_allclose(runs.Q[0][reachable], q_star[reachable], atol=1e-9)


@pytest.mark.parametrize("method,low,high", [("sarsa", -30, -17), ("expected_sarsa", -30, -17),
                                             ("q_learning", -70, -40)])
def test_on_policy_methods_learn_safe_epsilon_greedy_policies(method, low, high):
    """Exact value (policy evaluation) of ε-greedy on the learned Q: the on-policy methods learn a policy that
    survives its own exploration (best possible −20.7); Q-learning learns the cliff edge (≈ −50.8)."""
    from modelbook.rl.mdp import epsilon_greedy_probs, policy_evaluation

    mdp = from_gymnasium(gym.make("CliffWalking-v1"))
    runs = td_control(mdp, method, 6, 300, 0.5, 1.0, 0.1, np.random.default_rng(1))
    values = [policy_evaluation(mdp, epsilon_greedy_probs(runs.Q[i], 0.1), 1.0)[36] for i in range(6)]
    assert low <= np.median(values) <= high, values


def test_double_q_removes_maximisation_bias():
    mdp = maximization_bias_mdp()
    rng = np.random.default_rng(0)
    q = td_control(mdp, "q_learning", 2000, 100, 0.1, 1.0, 0.1, rng)
    dq = td_control(mdp, "double_q", 2000, 100, 0.1, 1.0, 0.1, rng)
    left_q = (q.first_actions == 1).mean(0)
    left_dq = (dq.first_actions == 1).mean(0)
    assert left_q[5:30].mean() > 0.6 > left_dq[5:30].mean()


def test_tie_breaking_is_uniform_and_respects_valid_actions():
    rng = np.random.default_rng(0)
    q = np.zeros((30000, 4))
    valid = np.array([True, False, True, True])
    a = argmax_random_ties(q, np.broadcast_to(valid, q.shape), rng)
    counts = np.bincount(a, minlength=4) / len(a)
    assert counts[1] == 0 and np.allclose(counts[[0, 2, 3]], 1 / 3, atol=0.01)
    q[:, 2] = 1.0
    a = epsilon_greedy(q, np.broadcast_to(valid, q.shape), np.full(len(q), 0.3), rng)
    assert (a == 2).mean() == pytest.approx(0.7 + 0.3 / 3, abs=0.01) and (a == 1).sum() == 0


def test_td_control_rejects_unknown_method():
    with pytest.raises(ValueError):
        td_control(maximization_bias_mdp(), "td_lambda", 1, 1, 0.1, 1.0, 0.1, np.random.default_rng(0))
