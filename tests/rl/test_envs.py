"""The evaluator and the exact CartPole values against stepping gymnasium's own env."""
import gymnasium as gym
import numpy as np
import pytest

from modelbook.rl.envs import cartpole_discounted_values, evaluate


def _balance(obs):
    """A classic hand-written controller: push the cart toward the side the pole falls to."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


def test_evaluate_counts_one_episode_per_env():
    returns = evaluate(_balance, "CartPole-v1", 20, seed=0)
    assert returns.shape == (20,) and np.all(returns == 500)        # it balances to the time limit
    rng = np.random.default_rng(0)
    random = evaluate(lambda o: rng.integers(0, 2, len(o)), "CartPole-v1", 200, seed=0)
    assert 15 < random.mean() < 30                                   # a random policy lasts ≈ 22 steps


def test_cartpole_values_equal_stepping_the_single_env():
    env = gym.make("CartPole-v1", max_episode_steps=10_000)
    rng = np.random.default_rng(1)
    states = rng.uniform(-0.2, 0.2, (5, 4))
    def wobbly(obs):
        return (obs[:, 2] > 0).astype(np.int64)                      # falls after a while
    values = cartpole_discounted_values(wobbly, states, 0.99, horizon=1000)
    for s, v in zip(states, values):
        env.reset(seed=0)
        env.unwrapped.state = s.copy()
        obs, total, t = s.astype(np.float32), 0.0, 0
        while t < 1000:
            obs, r, term, _, _ = env.step(int(wobbly(obs[None])[0]))
            total += 0.99 ** t * r
            t += 1
            if term:
                break
        assert v == pytest.approx(total, rel=1e-6)


def test_train_log_detects_solved_and_evaluates_at_the_end():
    from modelbook.rl.envs import EvalSpec, TrainLog

    log = TrainLog.for_run("CartPole-v1", 0, EvalSpec(eval_every=100, eval_episodes=10))
    log.start(1)
    assert not log.maybe_evaluate(50, _balance)                     # not due yet
    assert log.maybe_evaluate(100, _balance)                        # due, solved, stop
    assert log.solved_step == 100 and log.eval_means == [500.0]
    log2 = TrainLog.for_run("CartPole-v1", 0, EvalSpec(eval_every=10**9, eval_episodes=5, solve_threshold=None))
    log2.start(2)
    log2.record_step(7, np.array([1.0, 1.0]), np.array([True, False]))
    log2.finish(_balance)                                           # no evaluation was due: one at the end
    assert log2.eval_steps == [7] and log2.solved_step is None and log2.episode_returns == [1.0]
