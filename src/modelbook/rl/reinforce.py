"""REINFORCE with a learned baseline (Williams 1992; Sutton & Barto §13.4), written out.

The policy-gradient theorem gives an unbiased gradient of the expected return J(θ) from complete episodes:

    ∇J(θ) = E[ Σ_t ∇ log π_θ(a_t|s_t) (G_t - b(s_t)) ],     G_t = Σ_{k≥t} γ^(k-t) r_k

Any baseline b(s) that does not depend on the action leaves it unbiased and can cut its variance a lot;
we learn b = V_φ(s) by regressing it on G_t. This is Monte Carlo: nothing is bootstrapped, so an update
waits for whole episodes. Each iteration runs `n_envs` episodes to the end (all envs at once, masking the
steps after an env's episode ended), then takes one gradient step. The advantages G_t - V(s_t) are
normalised over the batch, a common variance reduction that only rescales the step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modelbook.core.measure import torch_threads
from modelbook.rl.advantages import discounted_returns
from modelbook.rl.envs import EvalSpec, TrainLog
from modelbook.rl.networks import ActorCritic, ActorCriticResult


@dataclass(frozen=True)
class ReinforceConfig(EvalSpec):
    total_steps: int = 100_000
    n_envs: int = 8
    """episodes per gradient step"""
    lr: float = 3e-3
    gamma: float = 0.99
    vf_coef: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    eval_every: int = 5_000


def train_reinforce(env_id: str, cfg: ReinforceConfig, seed: int) -> ActorCriticResult:
    import gymnasium as gym

    torch.manual_seed(seed)
    envs = gym.make_vec(env_id, num_envs=cfg.n_envs, vectorization_mode="sync")
    envs.action_space.seed(seed)
    agent = ActorCritic(envs.single_observation_space.shape[0], envs.single_action_space.n, cfg.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.lr, fused=True)
    log = TrainLog.for_run(env_id, seed, cfg)
    result = ActorCriticResult(agent, log)
    step, episode_batch = 0, 0
    log.start(cfg.n_envs)
    with torch_threads(1):
        while step < cfg.total_steps:
            # -- the algorithm: run n_envs complete episodes with the current policy --
            obs, _ = envs.reset(seed=seed + cfg.n_envs * episode_batch)   # fresh, distinct starts each batch
            episode_batch += 1
            alive = np.ones(cfg.n_envs, dtype=bool)
            obs_l, act_l, rew_l, mask_l = [], [], [], []
            while alive.any():
                obs_t = torch.as_tensor(obs, dtype=torch.float32)
                with torch.no_grad():
                    action = agent.dist(obs_t).sample()
                obs, reward, terminated, truncated, _ = envs.step(action.numpy())
                obs_l.append(obs_t)
                act_l.append(action)
                rew_l.append(torch.as_tensor(reward * alive, dtype=torch.float32))
                mask_l.append(torch.as_tensor(alive, dtype=torch.float32))
                # -- bookkeeping --
                step += int(alive.sum())
                log.record_step(step, reward * alive, alive & (terminated | truncated))
                alive &= ~(terminated | truncated)
            # -- the algorithm: Monte-Carlo returns, baseline, one gradient step --
            obs_b, act_b = torch.stack(obs_l), torch.stack(act_l)          # (T, N, d), (T, N)
            mask = torch.stack(mask_l)                                     # (T, N) 1 while the episode runs
            returns = discounted_returns(torch.stack(rew_l), torch.zeros_like(mask), cfg.gamma)   # (T, N)
            values = agent.value(obs_b)
            advantages = (returns - values).detach()
            mean = (advantages * mask).sum() / mask.sum()
            std = (((advantages - mean) ** 2 * mask).sum() / mask.sum()).sqrt()
            advantages = (advantages - mean) / (std + 1e-8)
            logp = agent.dist(obs_b).log_prob(act_b)
            policy_loss = -(logp * advantages * mask).sum() / mask.sum()
            value_loss = ((values - returns) ** 2 * mask).sum() / mask.sum()
            loss = policy_loss + cfg.vf_coef * value_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            # -- bookkeeping --
            if log.maybe_evaluate(step, result.act):
                break
    envs.close()
    log.finish(result.act)
    return result
