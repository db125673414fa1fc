"""Advantage actor-critic (A2C, the synchronous form of Mnih et al. 2016's A3C), written out.

Where REINFORCE waits for whole episodes, the actor-critic bootstraps: every `n_steps` steps of N parallel
envs it estimates advantages with the critic (GAE, advantages.py; λ = 1 gives the n-step return
Σ γ^k r + γ^n V(s_{t+n}) - V(s_t)) and takes ONE gradient step on

    loss = -E[log π_θ(a_t|s_t) Â_t] + c_v E[(V_θ(s_t) - R_t)²] - c_e E[H(π_θ(·|s_t))]

PPO (ppo.py) differs in exactly two places: it reuses each batch for several epochs of minibatch steps,
and it clips the probability ratio so that reuse cannot move the policy too far. Optimiser: RMSprop with
α = 0.99, ε = 1e-5 (the A3C paper's choice, also SB3's A2C default).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from modelbook.core.measure import torch_threads
from modelbook.rl.advantages import gae
from modelbook.rl.envs import EvalSpec, TrainLog, make_vec
from modelbook.rl.networks import ActorCritic, ActorCriticResult
from modelbook.rl.rollout import collect


@dataclass(frozen=True)
class A2CConfig(EvalSpec):
    total_steps: int = 200_000
    n_envs: int = 8
    n_steps: int = 5
    lr: float = 7e-4
    gamma: float = 0.99
    gae_lambda: float = 1.0
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    eval_every: int = 10_000


def train_a2c(env_id: str, cfg: A2CConfig, seed: int) -> ActorCriticResult:
    torch.manual_seed(seed)
    envs, obs = make_vec(env_id, cfg.n_envs, seed)
    agent = ActorCritic(envs.single_observation_space.shape[0], envs.single_action_space.n, cfg.hidden)
    optimizer = torch.optim.RMSprop(agent.parameters(), lr=cfg.lr, alpha=0.99, eps=1e-5)
    log = TrainLog.for_run(env_id, seed, cfg)
    result = ActorCriticResult(agent, log)
    step = 0
    log.start(cfg.n_envs)
    with torch_threads(1):
        while step < cfg.total_steps:
            # -- the algorithm --
            ro, obs, step = collect(envs, agent, obs, cfg.n_steps, cfg.gamma, log, step)
            advantages, returns = gae(ro.rewards, ro.values, ro.dones, ro.last_value, cfg.gamma, cfg.gae_lambda)
            dist = agent.dist(ro.obs)
            policy_loss = -(dist.log_prob(ro.actions) * advantages).mean()
            value_loss = (agent.value(ro.obs) - returns).pow(2).mean()
            loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * dist.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
            optimizer.step()
            # -- bookkeeping --
            if log.maybe_evaluate(step, result.act):
                break
    envs.close()
    log.finish(result.act)
    return result
