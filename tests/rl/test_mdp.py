"""Tabular MDPs: gymnasium's tables as arrays step like the env; exact solutions agree with each other."""
import gymnasium as gym
import numpy as np
import pytest

from modelbook.rl.mdp import (
    epsilon_greedy_probs,
    from_gymnasium,
    greedy_path,
    maximization_bias_mdp,
    policy_evaluation,
    value_iteration,
)


@pytest.mark.parametrize("env_id", ["CliffWalking-v1", "FrozenLake-v1"])
def test_sampled_steps_match_the_gymnasium_env(env_id):
    """Same state and action: our step's outcome is always one gymnasium's env can produce, with its reward."""
    env = gym.make(env_id)
    mdp = from_gymnasium(env)
    rng = np.random.default_rng(0)
    s = mdp.reset(500, rng)
    for _ in range(20):
        a = rng.integers(0, mdp.n_actions, len(s))
        s2, r, d = mdp.step(s, a, rng)
        for si, ai, s2i, ri, di in zip(s, a, s2, r, d):
            outcomes = {(int(n), float(rr), bool(t)) for p, n, rr, t in env.unwrapped.P[si][ai] if p > 0}
            assert (int(s2i), float(ri), bool(di)) in outcomes
        s = np.where(d, mdp.reset(len(s), rng), s2)


def test_cliffwalking_trajectory_equals_env_step():
    """CliffWalking is deterministic: a random action sequence gives identical states and rewards in both."""
    env = gym.make("CliffWalking-v1")
    mdp = from_gymnasium(env)
    rng = np.random.default_rng(1)
    s_env, _ = env.reset(seed=0)
    s = np.array([s_env])
    for a in rng.integers(0, 4, 300):
        s_env, r_env, term, _, _ = env.step(int(a))
        s, r, d = mdp.step(s, np.array([a]), rng)
        assert (int(s[0]), float(r[0]), bool(d[0])) == (s_env, r_env, term)
        if term:
            s_env, _ = env.reset()
            s = np.array([s_env])


def test_cliffwalking_optimal_values():
    mdp = from_gymnasium(gym.make("CliffWalking-v1"))
    q = value_iteration(mdp, 1.0)
    path, ret = greedy_path(mdp, q)
    assert ret == -13 and len(path) == 14           # up, 11 steps right along the edge, down
    assert q[36].max() == pytest.approx(-13)


def test_policy_evaluation_linear_solve_equals_long_horizon_iteration():
    mdp = from_gymnasium(gym.make("FrozenLake-v1"))
    pi = epsilon_greedy_probs(value_iteration(mdp, 0.99), 0.2)
    exact = policy_evaluation(mdp, pi, 0.95)
    iterated = policy_evaluation(mdp, pi, 0.95, horizon=2000)
    np.testing.assert_allclose(exact, iterated, atol=1e-10)


def test_frozenlake_optimum_is_gymnasiums_074():
    """gymnasium's registration comment: FrozenLake 4x4 'optimum = 0.74' (success within its 100-step limit)."""
    mdp = from_gymnasium(gym.make("FrozenLake-v1"))
    pi = np.eye(4)[value_iteration(mdp, 0.99).argmax(1)]
    assert policy_evaluation(mdp, pi, 1.0, horizon=100)[0] == pytest.approx(0.74, abs=0.005)


def test_epsilon_soft_optimum_dominates_epsilon_greedy_on_qstar():
    """The best ε-greedy policy is at least as good (as an ε-greedy policy) as ε-greedy on Q*."""
    mdp = from_gymnasium(gym.make("CliffWalking-v1"))
    v_soft = policy_evaluation(mdp, epsilon_greedy_probs(value_iteration(mdp, 1.0, epsilon=0.1), 0.1), 1.0)
    v_qstar = policy_evaluation(mdp, epsilon_greedy_probs(value_iteration(mdp, 1.0), 0.1), 1.0)
    assert np.all(v_soft >= v_qstar - 1e-9)
    assert v_soft[36] > v_qstar[36] + 20


def test_maximization_bias_mdp_shape_and_values():
    mdp = maximization_bias_mdp(10)
    q = value_iteration(mdp, 1.0)
    assert q[0, 0] == 0 and q[0, 1] == pytest.approx(-0.1)      # right is optimal, left is worth -0.1
    assert mdp.valid[0].sum() == 2 and mdp.valid[1].sum() == 10
    rng = np.random.default_rng(0)
    _, r, d = mdp.step(np.ones(20000, dtype=int), rng.integers(0, 10, 20000), rng)
    assert d.all() and r.mean() == pytest.approx(-0.1, abs=0.03) and r.std() == pytest.approx(1.0, abs=0.03)
