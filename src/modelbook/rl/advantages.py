"""Returns and advantages over a rollout of T steps from N envs; all arrays are (T, N) unless noted.

Conventions: rewards[t] is the reward for the action at step t; dones[t] = 1 when the episode ended at
step t (the next observation then belongs to a new episode, so nothing flows back across it);
values[t] = V(s_t); last_value (N,) = V(s_T), the state after the rollout. A time-limit truncation is
not a real end: the rollout collector adds γ V(final observation) to that step's reward before these
functions see it (as Stable-Baselines3 does), then marks the step done.

Discounted return (REINFORCE's Monte-Carlo target):
    G_t = r_t + γ (1 - done_t) G_{t+1},       G_T = last_value (0 for complete episodes)

Generalised advantage estimation (Schulman et al. 2016, eq. 16):
    δ_t = r_t + γ (1 - done_t) V(s_{t+1}) - V(s_t)
    A_t = δ_t + γλ (1 - done_t) A_{t+1}  =  Σ_l (γλ)^l δ_{t+l}   (within the episode)
λ = 0 gives the one-step TD advantage (low variance, biased by V); λ = 1 gives G_t - V(s_t) (unbiased,
high variance). The critic's regression target is A_t + V(s_t).
Cross-check: tests/rl/test_advantages.py, against SB3's RolloutBuffer.compute_returns_and_advantage.
"""
from __future__ import annotations

import torch


def discounted_returns(rewards: torch.Tensor, dones: torch.Tensor, gamma: float,
                       last_value: torch.Tensor | None = None) -> torch.Tensor:
    """G_t for every step (T, N)."""
    T = rewards.shape[0]
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0]) if last_value is None else last_value
    for t in reversed(range(T)):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[t] = running
    return out


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_value: torch.Tensor,
        gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages, returns), both (T, N)."""
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        next_value = last_value if t == T - 1 else values[t + 1]
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * not_done * next_value - values[t]
        running = delta + gamma * lam * not_done * running
        advantages[t] = running
    return advantages, advantages + values
