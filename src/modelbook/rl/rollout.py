"""On-policy rollout collection, shared by A2C and PPO: T steps from N envs with the current policy.

The one subtle line: when an episode is cut by the time limit (truncated, not terminated), the state it
stopped in still has a future, so its value is added to that step's reward, r_t <- r_t + γ V(final obs),
before the step is marked done (Stable-Baselines3 does the same). Without it, every CartPole episode that
reaches the 500-step limit would teach the critic that the state before the cut is worth 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modelbook.rl.envs import TrainLog
from modelbook.rl.networks import ActorCritic


@dataclass
class Rollout:
    obs: torch.Tensor        # (T, N, d)
    actions: torch.Tensor    # (T, N)
    logprobs: torch.Tensor   # (T, N)   log π_old(a_t | s_t)
    values: torch.Tensor     # (T, N)   V_old(s_t)
    rewards: torch.Tensor    # (T, N)   truncations bootstrapped
    dones: torch.Tensor      # (T, N)   1 where the episode ended at t
    last_value: torch.Tensor  # (N,)    V(s_T)


def collect(envs, agent: ActorCritic, obs: np.ndarray, n_steps: int, gamma: float, log: TrainLog,
            step: int) -> tuple[Rollout, np.ndarray, int]:
    """Run the policy for n_steps in every env. Returns the rollout, the next observations and the step count."""
    N = envs.num_envs
    buf = {k: [] for k in ("obs", "actions", "logprobs", "values", "rewards", "dones")}
    with torch.no_grad():
        for _ in range(n_steps):
            obs_t = torch.as_tensor(obs, dtype=torch.float32)
            dist = agent.dist(obs_t)
            action = dist.sample()
            next_obs, raw_reward, terminated, truncated, info = envs.step(action.numpy())
            reward = torch.as_tensor(raw_reward, dtype=torch.float32)
            cut = truncated & ~terminated
            if cut.any():
                final = torch.as_tensor(np.stack(info["final_obs"][cut]), dtype=torch.float32)
                reward[torch.as_tensor(cut)] += gamma * agent.value(final)
            buf["obs"].append(obs_t)
            buf["actions"].append(action)
            buf["logprobs"].append(dist.log_prob(action))
            buf["values"].append(agent.value(obs_t))
            buf["rewards"].append(reward)
            buf["dones"].append(torch.as_tensor(terminated | truncated, dtype=torch.float32))
            step += N
            log.record_step(step, raw_reward, terminated | truncated)
            obs = next_obs
        last_value = agent.value(torch.as_tensor(obs, dtype=torch.float32))
    rollout = Rollout(**{k: torch.stack(v) for k, v in buf.items()}, last_value=last_value)
    return rollout, obs, step

