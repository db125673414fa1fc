"""MADDPG (Lowe et al. 2017): decentralised actors, centralised critics; and independent DDPG learners.

Each agent i has a deterministic actor μ_i(o_i) -> a_i ∈ [0, 1]^d (sigmoid output; Gaussian exploration
noise while training) and a critic. The only difference between the two methods is what the critic sees:

    MADDPG           Q_i(o_1..o_N, a_1..a_N)    centralised: all observations and all actions
    independent      Q_i(o_i, a_i)              each agent treats the others as part of the environment

    critic target    y_i = r_i + γ Q'_i(o', μ'_1(o'_1), ..., μ'_N(o'_N))          (target nets, Polyak τ)
    actor loss       −Q_i(o, a_1, ..., μ_i(o_i), ..., a_N)  (+ a small penalty on the pre-sigmoid output)

Seen from agent i, the others' policies change as they learn, so its environment is non-stationary and an
independent critic's target drifts; conditioning the critic on everyone's actions makes its target a
stationary function again (the paper's argument). The actors still act on their own observations, so
execution stays decentralised. Episodes end only by the 25-step limit, so the targets always bootstrap
(as the original implementation does). `centralised` is per agent, which gives the paper's mixed
competitive experiments (MADDPG good agents against a DDPG adversary and the reverse).

Hyper-parameters follow the paper's appendix: 2 hidden layers of 64 units, Adam with lr 0.01, γ = 0.95,
τ = 0.01, batch 1024; the batched worlds (mpe_batch.py) add many episodes per step, so updates are counted
per collected transition (one gradient step per `transitions_per_update`, the paper's 100 by default).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from modelbook.core.measure import torch_threads
from modelbook.marl.mpe_batch import BatchedMPE


@dataclass(frozen=True)
class MADDPGConfig:
    scenario: str = "spread"
    centralised: tuple[bool, ...] | bool = True
    """True for MADDPG critics, False for independent DDPG; a tuple sets it per agent"""
    n_episodes: int = 6000
    n_envs: int = 100
    """episodes collected in parallel by the batched worlds"""
    hidden: int = 64
    lr: float = 1e-2
    gamma: float = 0.95
    tau: float = 0.01
    batch_size: int = 1024
    buffer_episodes: int = 40_000
    transitions_per_update: int = 100
    learning_starts: int = 1000
    """episodes collected before the first update"""
    noise_std: float = 0.1
    comm_ablation: bool = False
    """speaker_listener only: the listener's view of the speaker's utterance is zeroed (no channel)"""


class EnsembleMLP(nn.Module):
    """N independent MLPs evaluated as one batched matmul: x (N, B, d_in) -> (N, B, d_out).

    Every agent keeps its own weights (nothing is shared); batching them only saves the per-op overhead that
    dominates small networks on a CPU (3 agents cost about as much as one).
    """

    def __init__(self, n: int, sizes: tuple[int, ...]):
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            bound = 1 / d_in ** 0.5                                   # nn.Linear's default init, per agent
            self.weights.append(nn.Parameter(torch.empty(n, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n, 1, d_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)                                 # (N, B, d_out)
            if k < len(self.weights) - 1:
                x = torch.relu(x)
        return x


def ablate(obs: list, scenario: str, comm_ablation: bool) -> list:
    """Cut the channel: zero the speaker's utterance (the last 3 entries) in the listener's observation."""
    if not comm_ablation or scenario != "speaker_listener":
        return obs
    listener = obs[1].copy()
    listener[..., -3:] = 0.0
    return [obs[0], listener]


def _clip_per_agent(params, max_norm: float) -> None:
    """Clip each agent's gradient norm separately (dim 0 of every ensemble parameter is the agent)."""
    sq = sum(p.grad.pow(2).flatten(1).sum(1) for p in params)           # (N,)
    scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for p in params:
        p.grad.mul_(scale.view(-1, *([1] * (p.dim() - 1))))


class Agents:
    """The N actors and critics (with targets), their optimisers and the update rule.

    Observations and actions of different sizes are zero-padded to the largest (speaker 3 -> 11 inputs,
    3 -> 5 outputs, the extra outputs ignored). Every critic reads the joint vector (all observations, all
    actions); an independent (DDPG) critic multiplies the other agents' entries by 0, which is the same
    function as a critic that never sees them (those weights get no gradient).
    """

    def __init__(self, obs_dims: list[int], act_dims: list[int], centralised: list[bool], cfg: MADDPGConfig):
        self.obs_dims, self.act_dims, self.centralised, self.cfg = obs_dims, act_dims, centralised, cfg
        n, h = len(obs_dims), cfg.hidden
        self.n, self.d_obs, self.d_act = n, max(obs_dims), max(act_dims)
        joint = sum(obs_dims) + sum(act_dims)
        self.actor = EnsembleMLP(n, (self.d_obs, h, h, self.d_act))
        self.critic = EnsembleMLP(n, (joint, h, h, 1))
        self.target_actor = copy.deepcopy(self.actor)
        self.target_critic = copy.deepcopy(self.critic)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, fused=True)
        self._params = list(self.actor.parameters()) + list(self.critic.parameters())
        self._target_params = list(self.target_actor.parameters()) + list(self.target_critic.parameters())
        # which joint entries each critic sees (N, joint), and where agent i's action sits (N, Σ act)
        o_off, a_off = np.cumsum([0] + obs_dims), np.cumsum([0] + act_dims)
        view = torch.zeros(n, joint)
        own_act = torch.zeros(n, sum(act_dims))
        for i in range(n):
            if centralised[i]:
                view[i] = 1.0
            else:
                view[i, o_off[i]:o_off[i + 1]] = 1.0
                view[i, sum(obs_dims) + a_off[i]:sum(obs_dims) + a_off[i + 1]] = 1.0
            own_act[i, a_off[i]:a_off[i + 1]] = 1.0
        self.view, self.own_act = view[:, None, :], own_act[:, None, :]

    # -- shapes: lists of per-agent arrays <-> padded (N, B, d) tensors ---------------------------------
    def _pad_obs(self, obs: list) -> torch.Tensor:
        return torch.stack([torch.nn.functional.pad(torch.as_tensor(o), (0, self.d_obs - o.shape[-1])) for o in obs])

    def _policy(self, actor: EnsembleMLP, obs: list) -> tuple[torch.Tensor, torch.Tensor]:
        """(joint actions (B, Σ act), pre-sigmoid outputs (N, B, d_act))."""
        logits = actor(self._pad_obs(obs))
        acts = torch.sigmoid(logits)
        return torch.cat([acts[i, :, :d] for i, d in enumerate(self.act_dims)], -1), logits

    def act(self, obs: list[np.ndarray], noise_std: float = 0.0, rng: np.random.Generator | None = None) -> list[np.ndarray]:
        with torch.no_grad():
            acts = torch.sigmoid(self.actor(self._pad_obs(obs))).numpy()
        acts = [acts[i, :, :d] for i, d in enumerate(self.act_dims)]
        if noise_std > 0:
            acts = [np.clip(a + noise_std * rng.standard_normal(a.shape), 0.0, 1.0) for a in acts]
        return [a.astype(np.float32) for a in acts]

    def _q(self, critic: EnsembleMLP, obs_joint: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """Q_i for every agent: obs_joint (B, Σ obs), acts (B, Σ act) or (N, B, Σ act) -> (N, B)."""
        acts = acts.expand(self.n, *acts.shape[-2:])
        x = torch.cat([obs_joint.expand(self.n, *obs_joint.shape), acts], -1) * self.view
        return critic(x).squeeze(-1)

    def update(self, obs, acts, rewards, next_obs) -> dict[str, float]:
        """One gradient step for every agent on a shared minibatch (lists of (B, d) tensors; rewards (B, N))."""
        cfg = self.cfg
        obs_joint, next_joint, acts_joint = torch.cat(obs, -1), torch.cat(next_obs, -1), torch.cat(acts, -1)
        # -- the algorithm: critics regress on r_i + γ Q'_i(o', μ'(o')) --
        with torch.no_grad():
            next_acts, _ = self._policy(self.target_actor, next_obs)
            y = rewards.T + cfg.gamma * self._q(self.target_critic, next_joint, next_acts)      # (N, B)
        critic_loss = (self._q(self.critic, obs_joint, acts_joint) - y).pow(2).mean(1)           # (N,)
        self.critic_opt.zero_grad()
        critic_loss.sum().backward()
        _clip_per_agent(self.critic.parameters(), 0.5)
        self.critic_opt.step()
        # -- the algorithm: each actor ascends its own critic, with its own action replaced by μ_i(o_i) --
        mu, logits = self._policy(self.actor, obs)
        acts_pi = acts_joint * (1 - self.own_act) + mu * self.own_act                            # (N, B, Σ act)
        actor_loss = -self._q(self.critic, obs_joint, acts_pi).mean(1) + 1e-3 * logits.pow(2).mean((1, 2))
        self.actor_opt.zero_grad()
        actor_loss.sum().backward()
        _clip_per_agent(self.actor.parameters(), 0.5)
        self.actor_opt.step()
        with torch.no_grad():  # Polyak averaging of the targets: θ' <- θ' + τ (θ − θ'), one fused call
            torch._foreach_lerp_(self._target_params, self._params, cfg.tau)
        return {"critic_loss": critic_loss.mean().item()}

    def actor_params(self) -> list[list[np.ndarray]]:
        """Agent i's actor weights as numpy [W1, b1, W2, b2, W3, b3] (padded shapes), for worker processes."""
        return [[p[i].detach().numpy().copy() for pair in zip(self.actor.weights, self.actor.biases) for p in pair]
                for i in range(self.n)]


class JointReplay:
    """A ring buffer of joint transitions: every agent's obs, action and next obs, and all rewards."""

    def __init__(self, capacity: int, obs_dims: list[int], act_dims: list[int]):
        self.obs = [np.zeros((capacity, d), np.float32) for d in obs_dims]
        self.next_obs = [np.zeros((capacity, d), np.float32) for d in obs_dims]
        self.acts = [np.zeros((capacity, d), np.float32) for d in act_dims]
        self.rewards = np.zeros((capacity, len(obs_dims)), np.float32)
        self.capacity, self.pos, self.size = capacity, 0, 0

    def add(self, obs, acts, rewards, next_obs) -> None:
        n = len(rewards)
        idx = (self.pos + np.arange(n)) % self.capacity
        for i in range(len(obs)):
            self.obs[i][idx], self.acts[i][idx], self.next_obs[i][idx] = obs[i], acts[i], next_obs[i]
        self.rewards[idx] = rewards
        self.pos, self.size = (self.pos + n) % self.capacity, min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator):
        idx = rng.integers(0, self.size, batch_size)
        t = torch.from_numpy
        return ([t(o[idx]) for o in self.obs], [t(a[idx]) for a in self.acts], t(self.rewards[idx]),
                [t(o[idx]) for o in self.next_obs])


@dataclass
class MADDPGResult:
    agents: Agents
    episode_returns: np.ndarray
    """mean return per agent of every training episode, in collection order (episodes, N)"""
    updates: int


def train(cfg: MADDPGConfig, seed: int) -> MADDPGResult:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    env = BatchedMPE(cfg.scenario, cfg.n_envs, rng)
    n = env.n_agents
    centralised = list(cfg.centralised) if isinstance(cfg.centralised, tuple) else [cfg.centralised] * n
    agents = Agents(env.obs_dims, env.act_dims, centralised, cfg)
    buffer = JointReplay(cfg.buffer_episodes * env.max_cycles, env.obs_dims, env.act_dims)
    returns, updates, owed = [], 0, 0.0
    with torch_threads(1):
        for _ in range(max(cfg.n_episodes // cfg.n_envs, 1)):
            obs = ablate(env.reset(), cfg.scenario, cfg.comm_ablation)
            ep_return = np.zeros((cfg.n_envs, n))
            done = False
            while not done:
                # -- the algorithm: act with exploration noise, store the joint transition --
                acts = agents.act(obs, cfg.noise_std, rng)
                next_obs, rewards, done = env.step(acts)
                next_obs = ablate(next_obs, cfg.scenario, cfg.comm_ablation)
                buffer.add(obs, acts, rewards, next_obs)
                obs = next_obs
                ep_return += rewards
                # -- the algorithm: one update per `transitions_per_update` transitions, after a warm-up --
                if buffer.size >= cfg.learning_starts * env.max_cycles:
                    owed += cfg.n_envs / cfg.transitions_per_update
                    while owed >= 1:
                        agents.update(*buffer.sample(cfg.batch_size, rng))
                        owed -= 1
                        updates += 1
            returns.append(ep_return)                                  # -- bookkeeping --
    return MADDPGResult(agents, np.concatenate(returns), updates)
