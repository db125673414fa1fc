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
from modelbook.marl.mpe_batch import BatchedMPE, flee_action


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
    prey_thrust: float | None = None
    """tag only: the prey flees by script (mpe_batch.flee_action) at this thrust and only the predators learn"""


class EnsembleMLP(nn.Module):
    """N independent MLPs evaluated as one batched matmul: x (N, B, d_in) -> (N, B, d_out).

    Every agent keeps its own weights (nothing is shared); batching them only saves the per-op overhead that
    dominates small networks on a CPU (3 agents cost about as much as one).
    """

    def __init__(self, n: int, sizes: tuple[int, ...], generators: list[torch.Generator] | None = None):
        """generators: one per block of n // len(generators) consecutive members (one training run each), so a run's
        initial weights depend only on its own generator; None draws everything from torch's global generator."""
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        shapes = [((d_in, d_out), (1, d_out), 1 / d_in ** 0.5) for d_in, d_out in zip(sizes[:-1], sizes[1:])]
        tensors = [(torch.empty(n, *w), torch.empty(n, *b)) for w, b, _ in shapes]
        blocks = [None] if generators is None else generators
        per = n // len(blocks)
        for r, g in enumerate(blocks):
            for (w, b), (_, _, bound) in zip(tensors, shapes):        # nn.Linear's default init, per agent
                w[r * per:(r + 1) * per].uniform_(-bound, bound, generator=g)
                b[r * per:(r + 1) * per].uniform_(-bound, bound, generator=g)
        for w, b in tensors:
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

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
    """The actors and critics (with targets) of R training runs of N agents each, their optimisers and the update rule.

    Runs are independent copies of the experiment (another seed, or another kind of critic) trained side by side:
    every network of every run is one member of an ensemble (member r·N + i is agent i of run r), so a step of R runs
    costs about as much as a step of one (small networks on a CPU are bound by per-op overhead). Each run has its own
    worlds, replay rows and weights; only the minibatch indices and the exploration noise are shared across runs of
    the same seed, which pairs them.

    Observations and actions of different sizes are zero-padded to the largest (speaker 3 -> 11 inputs,
    3 -> 5 outputs, the extra outputs ignored). Every critic reads its run's joint vector (all observations, all
    actions); an independent (DDPG) critic multiplies the other agents' entries by 0, which is the same
    function as a critic that never sees them (those weights get no gradient).
    """

    def __init__(self, obs_dims: list[int], act_dims: list[int], centralised: list[bool], cfg: MADDPGConfig,
                 init_seeds: list[int] | None = None):
        """obs_dims, act_dims: one run's N agents; centralised: R·N flags (R = len(centralised) // N);
        init_seeds: one per run for its initial weights (None: torch's global generator)."""
        self.obs_dims, self.act_dims, self.centralised, self.cfg = obs_dims, act_dims, centralised, cfg
        N, h = len(obs_dims), cfg.hidden
        self.N, self.R = N, len(centralised) // N
        self.n, self.d_obs, self.d_act = self.R * N, max(obs_dims), max(act_dims)
        joint = sum(obs_dims) + sum(act_dims)
        gens = None if init_seeds is None else [torch.Generator().manual_seed(s) for s in init_seeds]
        self.actor = EnsembleMLP(self.n, (self.d_obs, h, h, self.d_act), gens)
        self.critic = EnsembleMLP(self.n, (joint, h, h, 1), gens)
        self.target_actor = copy.deepcopy(self.actor)
        self.target_critic = copy.deepcopy(self.critic)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, fused=True)
        self._params = list(self.actor.parameters()) + list(self.critic.parameters())
        self._target_params = list(self.target_actor.parameters()) + list(self.target_critic.parameters())
        # which entries of its run's joint vector each critic sees (R·N, joint), and where its own action sits
        o_off, a_off = np.cumsum([0] + obs_dims), np.cumsum([0] + act_dims)
        view = torch.zeros(self.n, joint)
        own_act = torch.zeros(self.n, sum(act_dims))
        for m in range(self.n):
            i = m % N
            if centralised[m]:
                view[m] = 1.0
            else:
                view[m, o_off[i]:o_off[i + 1]] = 1.0
                view[m, sum(obs_dims) + a_off[i]:sum(obs_dims) + a_off[i + 1]] = 1.0
            own_act[m, a_off[i]:a_off[i + 1]] = 1.0
        self.view, self.own_act = view[:, None, :], own_act[:, None, :]

    # -- shapes: lists of per-member arrays <-> padded (R·N, B, d) tensors and per-run joint vectors (R, B, Σd) ----
    def _pad_obs(self, obs: list) -> torch.Tensor:
        return torch.stack([torch.nn.functional.pad(torch.as_tensor(o), (0, self.d_obs - o.shape[-1])) for o in obs])

    def joint(self, xs: list) -> torch.Tensor:
        """R·N per-member tensors (B, d_i) -> each run's joint vector (R, B, Σ_i d_i)."""
        return torch.stack([torch.cat(list(xs[r * self.N:(r + 1) * self.N]), -1) for r in range(self.R)])

    def per_member(self, x: torch.Tensor) -> torch.Tensor:
        """(R, B, d) -> (R·N, B, d): every agent of run r gets run r's row."""
        return x.repeat_interleave(self.N, 0)

    def _policy(self, actor: EnsembleMLP, obs: list) -> tuple[torch.Tensor, torch.Tensor]:
        """(joint actions of each run (R, B, Σ act), pre-sigmoid outputs (R·N, B, d_act))."""
        logits = actor(self._pad_obs(obs))
        acts = torch.sigmoid(logits)
        return self.joint([acts[m, :, :self.act_dims[m % self.N]] for m in range(self.n)]), logits

    def act(self, obs: list[np.ndarray], noise: list[np.ndarray] | None = None) -> list[np.ndarray]:
        """Every member's action, plus exploration noise (one array per member) if given, clipped to [0, 1]."""
        with torch.no_grad():
            acts = torch.sigmoid(self.actor(self._pad_obs(obs))).numpy()
        acts = [acts[m, :, :self.act_dims[m % self.N]] for m in range(self.n)]
        if noise is not None:
            acts = [np.clip(a + z, 0.0, 1.0) for a, z in zip(acts, noise)]
        return [a.astype(np.float32) for a in acts]

    def _q(self, critic: EnsembleMLP, obs_joint: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """Q of every member: obs_joint (R, B, Σ obs) and acts (R·N, B, Σ act), each run's joint vectors -> (R·N, B)."""
        x = torch.cat([self.per_member(obs_joint), acts], -1) * self.view
        return critic(x).squeeze(-1)

    def update(self, obs, acts, rewards, next_obs) -> dict[str, float]:
        """One gradient step for every member on a shared minibatch (lists of (B, d) tensors; rewards (B, R·N))."""
        cfg = self.cfg
        obs_joint, next_joint, acts_joint = self.joint(obs), self.joint(next_obs), self.joint(acts)
        # -- the algorithm: critics regress on r_i + γ Q'_i(o', μ'(o')) --
        with torch.no_grad():
            next_acts, _ = self._policy(self.target_actor, next_obs)
            y = rewards.T + cfg.gamma * self._q(self.target_critic, next_joint, self.per_member(next_acts))  # (R·N, B)
        critic_loss = (self._q(self.critic, obs_joint, self.per_member(acts_joint)) - y).pow(2).mean(1)      # (R·N,)
        self.critic_opt.zero_grad()
        critic_loss.sum().backward()
        _clip_per_agent(self.critic.parameters(), 0.5)
        self.critic_opt.step()
        # -- the algorithm: each actor ascends its own critic, with its own action replaced by μ_i(o_i) --
        mu, logits = self._policy(self.actor, obs)
        acts_pi = self.per_member(acts_joint) * (1 - self.own_act) + self.per_member(mu) * self.own_act  # (R·N, B, Σ act)
        actor_loss = -self._q(self.critic, obs_joint, acts_pi).mean(1) + 1e-3 * logits.pow(2).mean((1, 2))
        self.actor_opt.zero_grad()
        actor_loss.sum().backward()
        _clip_per_agent(self.actor.parameters(), 0.5)
        self.actor_opt.step()
        with torch.no_grad():  # Polyak averaging of the targets: θ' <- θ' + τ (θ − θ'), one fused call
            torch._foreach_lerp_(self._target_params, self._params, cfg.tau)
        return {"critic_loss": critic_loss.mean().item()}

    def actor_params(self, run: int = 0) -> list[list[np.ndarray]]:
        """Run `run`'s actors as numpy [W1, b1, W2, b2, W3, b3] per agent (padded shapes), for worker processes."""
        return [[p[m].detach().numpy().copy() for pair in zip(self.actor.weights, self.actor.biases) for p in pair]
                for m in range(run * self.N, (run + 1) * self.N)]


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
    """shared by every run trained alongside this one"""
    run: int
    """this run's block of members in `agents`"""
    episode_returns: np.ndarray
    """mean return per agent of every training episode, in collection order (episodes, N)"""
    updates: int

    def actor_params(self) -> list[list[np.ndarray]]:
        return self.agents.actor_params(self.run)


def train(cfg: MADDPGConfig, seed: int) -> MADDPGResult:
    """One run: cfg.centralised decides every critic."""
    return train_runs(cfg, [seed], [cfg.centralised])[0][0]


def train_runs(cfg: MADDPGConfig, seeds: list[int], variants: list[tuple[bool, ...] | bool]) -> list[list[MADDPGResult]]:
    """len(variants) × len(seeds) runs side by side, results[v][s]. A variant says which critics are centralised
    (as MADDPGConfig.centralised). Runs of the same seed are paired: same initial weights, same worlds (resets drawn
    from `seed`), same exploration noise and minibatch indices; they differ only in what their critics see."""
    rng = np.random.default_rng(seeds[0] + 1)          # exploration noise and minibatch indices, shared by all runs
    torch.manual_seed(seeds[0])
    envs = [BatchedMPE(cfg.scenario, cfg.n_envs, np.random.default_rng(s)) for _ in variants for s in seeds]
    env = envs[0]
    scripted = cfg.scenario == "tag" and cfg.prey_thrust is not None
    N = env.n_agents - 1 if scripted else env.n_agents                # the learners of one run
    obs_dims, act_dims = env.obs_dims[:N], env.act_dims[:N]
    flags = []
    for v in variants:
        flags += (list(v) if isinstance(v, tuple) else [v] * N) * len(seeds)
    agents = Agents(obs_dims, act_dims, flags, cfg, init_seeds=[s for _ in variants for s in seeds])
    R = len(envs)
    buffer = JointReplay(cfg.buffer_episodes * env.max_cycles, obs_dims * R, act_dims * R)

    def observe(per_env: list[list[np.ndarray]]) -> list[np.ndarray]:
        return [o for e_obs in per_env for o in ablate(e_obs, cfg.scenario, cfg.comm_ablation)[:N]]

    returns, updates, owed = [], 0, 0.0
    with torch_threads(1):
        for _ in range(max(cfg.n_episodes // cfg.n_envs, 1)):
            raw = [e.reset() for e in envs]
            obs = observe(raw)
            ep_return = np.zeros((cfg.n_envs, R * N))
            done = False
            while not done:
                # -- the algorithm: act with exploration noise, store the joint transition --
                noise = [cfg.noise_std * rng.standard_normal((cfg.n_envs, d)) for _ in seeds for d in act_dims]
                acts = agents.act(obs, noise * len(variants))                 # runs of one seed share their noise
                steps = []
                for r, e in enumerate(envs):
                    a = acts[r * N:(r + 1) * N]
                    steps.append(e.step(a + [flee_action(raw[r][-1], cfg.prey_thrust)] if scripted else a))
                raw = [st[0] for st in steps]
                next_obs = observe(raw)
                rewards = np.concatenate([st[1][:, :N] for st in steps], 1)
                done = steps[0][2]
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
    returns = np.concatenate(returns)
    S = len(seeds)
    return [[MADDPGResult(agents, v * S + s, returns[:, (v * S + s) * N:(v * S + s + 1) * N], updates) for s in range(S)]
            for v in range(len(variants))]


def bellman_residual(agents: Agents, run: int, scenario: str, n_episodes: int, seed: int,
                     prey_thrust: float | None = None) -> np.ndarray:
    """How well run `run`'s critics explain the rewards: the mean squared Bellman residual
    (Q_i(x, a) − r_i − γ Q_i(x', μ(o')))² of each of its agents over fresh episodes played by its own actors (no
    exploration noise, worlds seeded by `seed`), with the trained critic on both sides (no target network).
    A critic that cannot see what drives its reward (an independent speaker does not see the listener) is left
    with that part of the reward as unexplained residual. Returns (N,)."""
    env = BatchedMPE(scenario, n_episodes, np.random.default_rng(seed))
    scripted = scenario == "tag" and prey_thrust is not None
    N, R, gamma = agents.N, agents.R, agents.cfg.gamma
    members = slice(run * N, (run + 1) * N)
    raw, done, total = env.reset(), False, np.zeros(N)

    def everyone(xs: list) -> list[torch.Tensor]:         # run `run`'s arrays in every run's slot (others unused)
        return [torch.as_tensor(x) for _ in range(R) for x in xs]

    with torch_threads(1), torch.no_grad():
        while not done:
            obs = raw[:N]
            acts = agents.act(everyone(obs))[members]
            nxt, rewards, done = env.step(acts + [flee_action(raw[-1], prey_thrust)] if scripted else acts)
            q = agents._q(agents.critic, agents.joint(everyone(obs)), agents.per_member(agents.joint(everyone(acts))))
            mu, _ = agents._policy(agents.actor, everyone(nxt[:N]))
            q_next = agents._q(agents.critic, agents.joint(everyone(nxt[:N])), agents.per_member(mu))
            y = torch.as_tensor(rewards[:, :N].T) + gamma * q_next[members]
            total += (q[members] - y).pow(2).mean(1).numpy()
            raw = nxt
    return total / env.max_cycles
