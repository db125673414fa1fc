"""The networks of the deep methods: an MLP, a Q-network, an actor-critic (run them under core.measure.torch_threads(1)).

    QNetwork(obs) -> Q(s, ·)                      (B, d) -> (B, A)        DQN / Double DQN
    ActorCritic.dist(obs) -> Categorical(π(·|s))  (B, d) -> (B, A) logits  REINFORCE, A2C, PPO
    ActorCritic.value(obs) -> V(s)                (B, d) -> (B,)

The actor and the critic are separate MLPs (CleanRL's ppo.py does the same for classic control), with
orthogonal initialisation and a small final actor gain (0.01), so that the first policy is close to
uniform. These nets are tiny (4 -> 64 -> 64 -> 2): on a CPU the cost of a step is Python and op launch
overhead, not arithmetic, and intra-op threads only add synchronisation, hence `torch_threads(1)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


def mlp(sizes: tuple[int, ...], activation: type[nn.Module] = nn.Tanh, out_gain: float = 1.0,
        orthogonal: bool = True) -> nn.Sequential:
    """Linear layers of the given sizes with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(d_in, d_out)
        if orthogonal:
            last = i == len(sizes) - 2
            nn.init.orthogonal_(linear.weight, out_gain if last else 2 ** 0.5)
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class QNetwork(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.net = mlp((obs_dim, *hidden, n_actions), nn.ReLU, orthogonal=False)  # PyTorch default init, as DQN codes use

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class ActorCritic(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        self.actor = mlp((obs_dim, *hidden, n_actions), nn.Tanh, out_gain=0.01)
        self.critic = mlp((obs_dim, *hidden, 1), nn.Tanh, out_gain=1.0)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.actor(obs))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)


@dataclass
class ActorCriticResult:
    """A trained actor-critic (REINFORCE, A2C, PPO) and its TrainLog."""

    agent: ActorCritic
    log: Any

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The greedy (most likely) action, used for evaluation."""
        with torch.no_grad():
            return self.agent.actor(torch.as_tensor(obs, dtype=torch.float32)).argmax(-1).numpy()

    def sample(self, obs: np.ndarray) -> np.ndarray:
        """An action sampled from π(·|s): the stochastic policy the methods optimise."""
        with torch.no_grad():
            return self.agent.dist(torch.as_tensor(obs, dtype=torch.float32)).sample().numpy()
