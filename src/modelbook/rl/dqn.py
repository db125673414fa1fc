"""DQN (Mnih et al. 2015) and Double DQN (van Hasselt, Guez & Silver 2016), written out.

Q-learning with a neural network Q_θ, made stable by two devices:
  - experience replay: learn from random minibatches of past transitions (buffers.py);
  - a target network θ⁻, a copy of θ refreshed every `target_update` steps, so the regression target
    does not move with every gradient step.

    DQN target         y = r + γ (1 - terminated) max_a' Q_θ⁻(s', a')
    Double DQN target  y = r + γ (1 - terminated) Q_θ⁻(s', argmax_a' Q_θ(s', a'))
    loss               Huber(Q_θ(s, a) - y)      (smooth L1, as in the Nature paper's gradient clipping)

max over noisy estimates is biased upward (E[max] >= max E); DQN's target takes the max of the same
network that picks the action, so errors compound into overestimation. Double DQN lets the online net pick
and the target net evaluate, which removes most of the bias (lab `exploration` measures it on CartPole).
Behaviour is ε-greedy with ε decayed linearly (schedules.py).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from modelbook.core.measure import torch_threads
from modelbook.rl import schedules
from modelbook.rl.buffers import ReplayBuffer
from modelbook.rl.envs import EvalSpec, TrainLog, make_vec
from modelbook.rl.networks import QNetwork


@dataclass(frozen=True)
class DQNConfig(EvalSpec):
    total_steps: int = 50_000
    lr: float = 2.3e-3
    buffer_size: int = 100_000
    batch_size: int = 64
    gamma: float = 0.99
    learning_starts: int = 1000
    train_freq: int = 256
    """collect this many env steps, then take `gradient_steps` gradient steps (SB3-zoo's CartPole setting)"""
    gradient_steps: int = 128
    target_update: int = 10
    """env steps between copies of the online net into the target net"""
    eps_start: float = 1.0
    eps_end: float = 0.04
    eps_fraction: float = 0.16
    """fraction of total_steps over which ε decays linearly"""
    hidden: tuple[int, ...] = (256, 256)
    max_grad_norm: float = 10.0
    double: bool = False
    eval_every: int = 2_000


@dataclass
class DQNResult:
    q_net: QNetwork
    log: TrainLog
    buffer: ReplayBuffer

    def act(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.q_net(torch.as_tensor(obs, dtype=torch.float32)).argmax(-1).numpy()


def td_target(q_target: torch.nn.Module, q_online: torch.nn.Module, rewards: torch.Tensor, next_obs: torch.Tensor,
              terminated: torch.Tensor, gamma: float, double: bool) -> torch.Tensor:
    """The regression target y (B,) for DQN or Double DQN (no gradient flows through it)."""
    with torch.no_grad():
        q_next = q_target(next_obs)                                            # (B, A)
        if double:
            a_star = q_online(next_obs).argmax(-1, keepdim=True)               # the online net picks ...
            next_value = q_next.gather(-1, a_star).squeeze(-1)                 # ... the target net evaluates
        else:
            next_value = q_next.max(-1).values
        return rewards + gamma * (1.0 - terminated) * next_value


def train_dqn(env_id: str, cfg: DQNConfig, seed: int, log_q: bool = False) -> DQNResult:
    """Train on one env. log_q=True also records the mean max_a Q over each sampled minibatch (log.q_means)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    envs, obs = make_vec(env_id, 1, seed)
    obs_dim, n_actions = envs.single_observation_space.shape[0], envs.single_action_space.n
    q_net = QNetwork(obs_dim, n_actions, cfg.hidden)
    target = copy.deepcopy(q_net)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)
    buffer = ReplayBuffer(min(cfg.buffer_size, cfg.total_steps), obs_dim)
    epsilon = schedules.linear(cfg.eps_start, cfg.eps_end, cfg.eps_fraction * cfg.total_steps)
    log = TrainLog.for_run(env_id, seed, cfg)
    log.q_steps, log.q_means = [], []  # type: ignore[attr-defined]
    result = DQNResult(q_net, log, buffer)
    log.start(1)
    with torch_threads(1):
        for step in range(1, cfg.total_steps + 1):
            # -- the algorithm: act ε-greedily and store the transition --
            if rng.random() < epsilon(step):
                action = envs.action_space.sample()
            else:
                action = result.act(obs)
            next_obs, reward, terminated, truncated, info = envs.step(action)
            real_next = next_obs.copy()
            if truncated[0]:  # SAME_STEP autoreset: the true last observation of the episode is in info
                real_next[0] = info["final_obs"][0]
            buffer.add(obs, action, reward, real_next, terminated)
            obs = next_obs
            # -- bookkeeping --
            log.record_step(step, reward, terminated | truncated)

            # -- the algorithm: learn from replayed minibatches --
            if step >= cfg.learning_starts and step % cfg.train_freq == 0:
                for _ in range(cfg.gradient_steps):
                    b_obs, b_act, b_rew, b_next, b_term = buffer.sample(cfg.batch_size, rng)
                    y = td_target(target, q_net, b_rew, b_next, b_term, cfg.gamma, cfg.double)
                    q_all = q_net(b_obs)
                    q = q_all.gather(-1, b_act[:, None]).squeeze(-1)
                    loss = F.smooth_l1_loss(q, y)
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(q_net.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                if log_q:  # -- bookkeeping --
                    log.q_steps.append(step)
                    log.q_means.append(float(q_all.detach().max(-1).values.mean()))
            if step % cfg.target_update == 0:
                target.load_state_dict(q_net.state_dict())

            # -- bookkeeping --
            if log.maybe_evaluate(step, result.act):
                break
    envs.close()
    log.finish(result.act)
    return result
