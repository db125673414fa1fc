"""Proximal Policy Optimization (Schulman et al. 2017), clipped objective with GAE, written out.

Each iteration collects T steps from N envs with the current policy π_old (rollout.py), computes GAE
advantages Â_t (advantages.py), then takes several epochs of minibatch gradient steps on

    r_t(θ)  = π_θ(a_t|s_t) / π_old(a_t|s_t)
    L_clip  = E_t[ min( r_t Â_t, clip(r_t, 1 - ε, 1 + ε) Â_t ) ]
    loss    = -L_clip + c_v · E_t[(V_θ(s_t) - R_t)²] - c_e · E_t[H(π_θ(·|s_t))]

The min makes the objective a pessimistic bound: once the ratio has moved more than ε in the direction the
advantage favours, the gradient of that sample is zero, so many epochs on one batch cannot push the policy
far from the one that collected it. (The source article calls PPO "a value method"; it is a policy-gradient,
actor-critic method: the critic only supplies Â.) Advantages are normalised per minibatch; the learning rate
decays linearly to 0 (CleanRL's defaults). Differences from CleanRL's ppo.py: no value-loss clipping.
Cross-check: tests/rl/test_ppo.py computes the loss by hand on a small batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modelbook.core.measure import torch_threads
from modelbook.rl.advantages import gae
from modelbook.rl.envs import EvalSpec, TrainLog, make_vec
from modelbook.rl.networks import ActorCritic, ActorCriticResult
from modelbook.rl.rollout import collect


@dataclass(frozen=True)
class PPOConfig(EvalSpec):
    total_steps: int = 100_000
    n_envs: int = 8
    n_steps: int = 32
    """steps per env per rollout (batch = n_envs × n_steps)"""
    n_epochs: int = 20
    minibatch_size: int = 256
    lr: float = 1e-3
    anneal_lr: bool = True
    gamma: float = 0.98
    gae_lambda: float = 0.8
    clip: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    eval_every: int = 5_000


def ppo_loss(agent: ActorCritic, obs: torch.Tensor, actions: torch.Tensor, old_logprobs: torch.Tensor,
             advantages: torch.Tensor, returns: torch.Tensor, clip: float, vf_coef: float,
             ent_coef: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The PPO loss on one minibatch (all inputs (B,) except obs (B, d)); returns (loss, diagnostics)."""
    dist = agent.dist(obs)
    logratio = dist.log_prob(actions) - old_logprobs
    ratio = logratio.exp()
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - clip, 1 + clip) * advantages
    policy_loss = -torch.min(unclipped, clipped).mean()
    value_loss = (agent.value(obs) - returns).pow(2).mean()
    entropy = dist.entropy().mean()
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy
    with torch.no_grad():
        stats = {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.item(),
                 "approx_kl": float(((ratio - 1) - logratio).mean()),  # Schulman's k3 estimator of KL(old||new)
                 "clip_fraction": float(((ratio - 1).abs() > clip).float().mean())}
    return loss, stats


def train_ppo(env_id: str, cfg: PPOConfig, seed: int) -> ActorCriticResult:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    envs, obs = make_vec(env_id, cfg.n_envs, seed)
    agent = ActorCritic(envs.single_observation_space.shape[0], envs.single_action_space.n, cfg.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.lr, eps=1e-5, fused=True)
    log = TrainLog.for_run(env_id, seed, cfg)
    result = ActorCriticResult(agent, log)
    batch = cfg.n_envs * cfg.n_steps
    n_iterations = max(cfg.total_steps // batch, 1)
    step = 0
    log.start(cfg.n_envs)
    with torch_threads(1):
        for it in range(n_iterations):
            if cfg.anneal_lr:
                optimizer.param_groups[0]["lr"] = cfg.lr * (1 - it / n_iterations)
            # -- the algorithm: collect with π_old, then estimate advantages --
            ro, obs, step = collect(envs, agent, obs, cfg.n_steps, cfg.gamma, log, step)
            advantages, returns = gae(ro.rewards, ro.values, ro.dones, ro.last_value, cfg.gamma, cfg.gae_lambda)
            b_obs = ro.obs.reshape(batch, -1)
            b_act, b_logp = ro.actions.reshape(batch), ro.logprobs.reshape(batch)
            b_adv, b_ret = advantages.reshape(batch), returns.reshape(batch)
            # -- the algorithm: several epochs of clipped-objective minibatch steps --
            for _ in range(cfg.n_epochs):
                order = torch.as_tensor(rng.permutation(batch))
                for start in range(0, batch, cfg.minibatch_size):
                    mb = order[start:start + cfg.minibatch_size]
                    adv = b_adv[mb]
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                    loss, _ = ppo_loss(agent, b_obs[mb], b_act[mb], b_logp[mb], adv, b_ret[mb],
                                       cfg.clip, cfg.vf_coef, cfg.ent_coef)
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
