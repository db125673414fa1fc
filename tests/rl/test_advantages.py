"""GAE and discounted returns against Stable-Baselines3's RolloutBuffer on the same rollout."""
import numpy as np
import pytest
import torch

from modelbook.rl.advantages import discounted_returns, gae


def _rollout(T=16, N=3, seed=0):
    g = np.random.default_rng(seed)
    rewards = g.normal(size=(T, N))
    values = g.normal(size=(T, N))
    dones = (g.random((T, N)) < 0.2).astype(np.float64)
    last_value = g.normal(size=N)
    return rewards, values, dones, last_value


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.98, 0.8), (0.9, 1.0), (0.9, 0.0)])
def test_gae_matches_sb3_rollout_buffer(gamma, lam):
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    T, N = 16, 3
    rewards, values, dones, last_value = _rollout(T, N)
    buf = RolloutBuffer(T, spaces.Box(-1, 1, (2,)), spaces.Discrete(2), device="cpu", gae_lambda=lam, gamma=gamma, n_envs=N)
    for t in range(T):
        episode_start = dones[t - 1] if t > 0 else np.zeros(N)   # SB3 marks the step AFTER a done
        buf.add(np.zeros((N, 2)), np.zeros((N, 1)), rewards[t], episode_start,
                torch.as_tensor(values[t]), torch.zeros(N))
    buf.compute_returns_and_advantage(torch.as_tensor(last_value), dones[-1])

    adv, ret = gae(*(torch.as_tensor(x) for x in (rewards, values, dones, last_value)), gamma=gamma, lam=lam)
    # SB3 stores float32
    np.testing.assert_allclose(adv.numpy(), buf.advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret.numpy(), buf.returns, rtol=1e-5, atol=1e-5)


def test_gae_with_lambda_one_and_zero_values_is_the_discounted_return():
    rewards, _, dones, last_value = (torch.as_tensor(x) for x in _rollout())
    zeros = torch.zeros_like(rewards)
    adv, _ = gae(rewards, zeros, dones, last_value, gamma=0.97, lam=1.0)
    torch.testing.assert_close(adv, discounted_returns(rewards, dones, 0.97, last_value))


def test_discounted_returns_by_hand():
    r = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    d = torch.tensor([[0.0], [1.0], [0.0], [0.0]])          # the episode ends after step 1
    g = discounted_returns(r, d, 0.5)
    torch.testing.assert_close(g, torch.tensor([[1 + 0.5 * 2], [2.0], [3 + 0.5 * 4], [4.0]]))
