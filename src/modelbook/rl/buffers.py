"""Experience replay: a ring buffer of transitions, sampled uniformly with an explicit generator.

DQN learns from minibatches drawn at random from the last `capacity` transitions instead of from the
stream itself. Consecutive transitions are strongly correlated; sampling from a large memory breaks the
correlation and reuses each transition many times (Mnih et al. 2015). `terminated` is stored rather than
`done`: an episode cut by a time limit did not end, so its target still bootstraps from the next state.
"""
from __future__ import annotations

import numpy as np
import torch


class ReplayBuffer:
    def __init__(self, capacity: int, obs_dim: int):
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        """Add a batch of n transitions (one per vector env): obs (n, d), action (n,), ... """
        obs = np.atleast_2d(obs)
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = obs
        self.next_obs[idx] = np.atleast_2d(next_obs)
        self.actions[idx] = action
        self.rewards[idx] = reward
        self.terminated[idx] = terminated
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """(obs (B, d), actions (B,), rewards (B,), next_obs (B, d), terminated (B,)) as tensors."""
        idx = rng.integers(0, self.size, batch_size)
        return (torch.from_numpy(self.obs[idx]), torch.from_numpy(self.actions[idx]),
                torch.from_numpy(self.rewards[idx]), torch.from_numpy(self.next_obs[idx]),
                torch.from_numpy(self.terminated[idx]))
