"""mpe2's multi-agent particle worlds, stepped for B episodes at once in numpy.

mpe2 (the maintained home of the MPE scenarios of Lowe et al. 2017) steps one world in Python, about
0.4 ms per step for simple_spread; MADDPG's paper trains for 25,000 episodes of 25 steps. This module
re-implements the same physics and the three scenarios used here, vectorised over a batch of B worlds, so
a CPU trains in seconds; tests/marl/test_mpe_batch.py loads mpe2's own state into it (`load_mpe2`) and checks that
observations, rewards and next states agree step for step (and lab `marl` re-checks it on every run, and
replays a trained policy on mpe2 itself to confirm its score).

Physics (mpe2 _mpe_utils/core.py, per step, dt = 0.1, damping 0.25, mass 1):
    force_i   = 5 · (a[2] − a[1], a[4] − a[3])                        continuous action a ∈ [0, 1]^5
              + Σ_j c · (p_i − p_j)/|p_i − p_j| · k · log(1 + exp(−(|p_i − p_j| − r_i − r_j)/k))   (colliders;
                c = 100, k = 0.001: a soft contact force)
    p <- p + v · dt;   v <- v · (1 − damping) + force · dt
Scenarios (observations are relative positions; the reward arithmetic is mpe2's):
    spread            N agents cover N landmarks. r_i = ½ · (−Σ_l min_j |p_j − l|) + ½ · (−#agents colliding with i)
    speaker_listener  a static speaker sees the goal landmark's colour and emits c ∈ [0,1]³; the listener sees
                      the landmarks and c, and moves. Both get −|p_listener − goal|².
    adversary         1 adversary and N good agents, N landmarks, one of them the goal (known to the good agents
                      only). Good: −min_good |p − goal| + |p_adv − goal|; adversary: −|p_adv − goal|.
    tag               predator–prey: 3 slower predators ("adversaries", size 0.075, accel 3, max speed 1.0) and 1
                      faster prey (size 0.05, accel 4, max speed 1.3) among 2 fixed obstacles (size 0.2) that
                      everyone bumps into. Every predator gets +10 per (predator, prey) pair in contact (a capture);
                      the prey −10 per capture and a penalty for leaving the square: Σ_axes bound(|x|), bound(x) = 0
                      below 0.9, 10 (x − 0.9) below 1, min(e^(2x − 2), 10) beyond. Velocities above an agent's max
                      speed are scaled back to it after each step.
"""
from __future__ import annotations

import numpy as np

DT, DAMPING, CONTACT_FORCE, CONTACT_MARGIN, SENSITIVITY = 0.1, 0.25, 100.0, 1e-3, 5.0
LANDMARK_COLOURS = np.array([[0.65, 0.15, 0.15], [0.15, 0.65, 0.15], [0.15, 0.15, 0.65]])
SCENARIOS = ("spread", "speaker_listener", "adversary", "tag")
TAG_PREDATORS, TAG_OBSTACLES = 3, 2   # mpe2 simple_tag_v3's defaults (num_adversaries, num_obstacles), 1 prey


class BatchedMPE:
    """B parallel episodes of one scenario. Agents are ordered as in mpe2 (env.possible_agents)."""

    def __init__(self, scenario: str, n_envs: int, rng: np.random.Generator, max_cycles: int = 25, n: int = 3):
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
        self.scenario, self.B, self.rng, self.max_cycles = scenario, n_envs, rng, max_cycles
        self.max_speed, self.landmarks_collide = None, False                 # mpe2's defaults: no speed limit
        if scenario == "tag":
            k = TAG_PREDATORS
            self.n_agents, self.n_landmarks = k + 1, TAG_OBSTACLES
            self.size = np.array([0.075] * k + [0.05])
            self.landmark_size = np.full(TAG_OBSTACLES, 0.2)
            self.accel = np.array([3.0] * k + [4.0])
            self.max_speed = np.array([1.0] * k + [1.3])
            self.movable = np.ones(k + 1, dtype=bool)
            self.collide = self.landmarks_collide = True
            self.names = [f"adversary_{i}" for i in range(k)] + ["agent_0"]
            d = 4 + 2 * TAG_OBSTACLES + 2 * k
            self.obs_dims = [d + 2] * k + [d]                                 # predators also see the prey's velocity
            self.act_dims = [5] * (k + 1)
        elif scenario == "spread":
            self.n_agents, self.n_landmarks = n, n
            self.size = np.full(n, 0.15)
            self.movable = np.ones(n, dtype=bool)
            self.collide = True
            self.names = [f"agent_{i}" for i in range(n)]
            self.obs_dims = [4 + 2 * n + 2 * (n - 1) + 2 * (n - 1)] * n
            self.act_dims = [5] * n
        elif scenario == "speaker_listener":
            self.n_agents, self.n_landmarks = 2, 3
            self.movable = np.array([False, True])
            self.collide = False
            self.names = ["speaker_0", "listener_0"]
            self.obs_dims = [3, 11]
            self.act_dims = [3, 5]
        else:
            self.n_agents, self.n_landmarks = n, n - 1          # 1 adversary + (n - 1) good agents
            self.movable = np.ones(n, dtype=bool)
            self.collide = False
            self.names = ["adversary_0"] + [f"agent_{i}" for i in range(n - 1)]
            self.obs_dims = [2 * (n - 1) + 2 * (n - 1)] + [2 + 2 * (n - 1) + 2 * (n - 1)] * (n - 1)
            self.act_dims = [5] * n
        if scenario != "tag":
            self.accel = np.full(self.n_agents, SENSITIVITY)                  # mpe2's default sensitivity
        self.reset()

    # -- state ----------------------------------------------------------------------------------------
    def reset(self) -> list[np.ndarray]:
        B, rng = self.B, self.rng
        self.t = 0
        self.agent_pos = rng.uniform(-1, 1, (B, self.n_agents, 2))
        self.agent_vel = np.zeros((B, self.n_agents, 2))
        bound = 0.9 if self.scenario == "tag" else 1.0                   # simple_tag keeps its obstacles off the edge
        self.landmark_pos = rng.uniform(-bound, bound, (B, self.n_landmarks, 2))
        self.comm = np.zeros((B, 3))                                    # the speaker's utterance
        self.goal = rng.integers(0, self.n_landmarks, B) if self.scenario in ("speaker_listener", "adversary") else None
        return self.observations()

    def load_state(self, agent_pos, agent_vel, landmark_pos, goal=None, comm=None, t: int = 0) -> None:
        """Set the state (B = 1 or more) from outside, e.g. from an mpe2 world in the equality test."""
        self.agent_pos, self.agent_vel = np.array(agent_pos, float), np.array(agent_vel, float)
        self.landmark_pos = np.array(landmark_pos, float)
        self.B = len(self.agent_pos)
        self.goal = None if goal is None else np.array(goal)
        self.comm = np.zeros((self.B, 3)) if comm is None else np.array(comm, float)
        self.t = t

    def load_mpe2(self, world) -> None:
        """Take the state of one mpe2 world (env.unwrapped.world): positions, velocities, the goal landmark
        (speaker_listener: the speaker's goal_b; adversary: the good agents' goal_a) and the speaker's utterance."""
        agents, landmarks = world.agents, world.landmarks
        goal = None
        if self.scenario == "speaker_listener":
            goal = [landmarks.index(agents[0].goal_b)]
        elif self.scenario == "adversary":
            goal = [landmarks.index(agents[0].goal_a)]
        comm = [agents[0].state.c] if self.scenario == "speaker_listener" else None
        self.load_state([[a.state.p_pos for a in agents]], [[a.state.p_vel for a in agents]],
                        [[lm.state.p_pos for lm in landmarks]], goal, comm)

    # -- dynamics -------------------------------------------------------------------------------------
    def step(self, actions: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray, bool]:
        """actions: one (B, act_dim) array per agent, values in [0, 1]. Returns obs, rewards (B, n_agents), done."""
        acts = [np.clip(a, 0.0, 1.0) for a in actions]
        force = np.zeros_like(self.agent_pos)                             # (B, n, 2)
        for i, a in enumerate(acts):
            if self.movable[i]:
                # the difference in the action's dtype, then float64, as mpe2 does it (bit-for-bit equal states)
                force[:, i, 0] = (a[:, 2] - a[:, 1]).astype(float) * self.accel[i]
                force[:, i, 1] = (a[:, 4] - a[:, 3]).astype(float) * self.accel[i]
        if self.collide:
            force += self._contact_forces()
        mov = self.movable
        # mpe2's order: position moves with the old velocity, then the velocity is damped and accelerated
        self.agent_pos[:, mov] += self.agent_vel[:, mov] * DT
        self.agent_vel[:, mov] = self.agent_vel[:, mov] * (1 - DAMPING) + force[:, mov] * DT
        if self.max_speed is not None:                                    # mpe2: rescale to max_speed when above it
            speed = np.sqrt(self.agent_vel[..., 0] ** 2 + self.agent_vel[..., 1] ** 2)          # (B, n)
            over = speed > self.max_speed
            with np.errstate(invalid="ignore", divide="ignore"):
                capped = self.agent_vel / speed[..., None] * self.max_speed[:, None]
            self.agent_vel = np.where(over[..., None], capped, self.agent_vel)
        if self.scenario == "speaker_listener":
            self.comm = acts[0].astype(float).copy()
        self.t += 1
        return self.observations(), self.rewards(), self.t >= self.max_cycles

    def _contact_forces(self) -> np.ndarray:
        """The soft contact force on every agent from every other colliding entity (agents, and in tag the fixed
        obstacles, which push but never move)."""
        others, sizes = self.agent_pos, self.size
        if self.landmarks_collide:
            others = np.concatenate([self.agent_pos, self.landmark_pos], 1)
            sizes = np.concatenate([self.size, self.landmark_size])
        delta = self.agent_pos[:, :, None, :] - others[:, None, :, :]             # (B, n, n + L, 2): p_i − p_j
        dist = np.sqrt((delta ** 2).sum(-1))                                        # (B, n, n + L)
        dist_min = self.size[:, None] + sizes[None, :]
        k = CONTACT_MARGIN
        penetration = np.logaddexp(0, -(dist - dist_min) / k) * k
        off_diag = ~np.eye(self.n_agents, len(sizes), dtype=bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = CONTACT_FORCE * delta / dist[..., None] * penetration[..., None]
        return np.where(off_diag[None, :, :, None], f, 0.0).sum(2)

    # -- what the agents see and get ------------------------------------------------------------------
    def _landmark_dists(self) -> np.ndarray:
        """|p_agent − p_landmark| (B, n_agents, n_landmarks)."""
        return np.linalg.norm(self.agent_pos[:, :, None] - self.landmark_pos[:, None], axis=-1)

    def observations(self) -> list[np.ndarray]:
        B, n = self.B, self.n_agents
        obs = []
        if self.scenario == "spread":
            for i in range(n):
                rel_l = (self.landmark_pos - self.agent_pos[:, i:i + 1]).reshape(B, -1)
                others = [j for j in range(n) if j != i]
                rel_a = (self.agent_pos[:, others] - self.agent_pos[:, i:i + 1]).reshape(B, -1)
                comm = np.zeros((B, 2 * (n - 1)))                          # agents are silent in spread
                obs.append(np.concatenate([self.agent_vel[:, i], self.agent_pos[:, i], rel_l, rel_a, comm], 1))
        elif self.scenario == "speaker_listener":
            obs.append(LANDMARK_COLOURS[self.goal])
            rel_l = (self.landmark_pos - self.agent_pos[:, 1:2]).reshape(B, -1)
            obs.append(np.concatenate([self.agent_vel[:, 1], rel_l, self.comm], 1))
        elif self.scenario == "tag":
            for i in range(n):
                rel_l = (self.landmark_pos - self.agent_pos[:, i:i + 1]).reshape(B, -1)
                others = [j for j in range(n) if j != i]
                rel_a = (self.agent_pos[:, others] - self.agent_pos[:, i:i + 1]).reshape(B, -1)
                prey_vel = [self.agent_vel[:, n - 1]] if i < n - 1 else []          # other good agents' velocities
                obs.append(np.concatenate([self.agent_vel[:, i], self.agent_pos[:, i], rel_l, rel_a, *prey_vel], 1))
        else:
            goal_pos = self.landmark_pos[np.arange(B), self.goal]            # (B, 2)
            for i in range(n):
                rel_l = (self.landmark_pos - self.agent_pos[:, i:i + 1]).reshape(B, -1)
                others = [j for j in range(n) if j != i]
                rel_a = (self.agent_pos[:, others] - self.agent_pos[:, i:i + 1]).reshape(B, -1)
                parts = [rel_l, rel_a] if i == 0 else [goal_pos - self.agent_pos[:, i], rel_l, rel_a]
                obs.append(np.concatenate(parts, 1))
        return [o.astype(np.float32) for o in obs]

    def rewards(self) -> np.ndarray:
        B, n = self.B, self.n_agents
        if self.scenario == "spread":
            cover = -self._landmark_dists().min(1).sum(1)                    # (B,) −Σ_l min_j distance
            colliding = self.collisions_matrix().sum(2)                      # (B, n) other agents touching i
            return 0.5 * cover[:, None] - 0.5 * colliding
        if self.scenario == "tag":
            caught = self.captures().astype(float)                           # (B,) predator–prey pairs in contact
            x = np.abs(self.agent_pos[:, -1])                                # (B, 2) the prey's |x|, |y|
            with np.errstate(over="ignore"):
                bound = np.where(x < 0.9, 0.0, np.where(x < 1.0, (x - 0.9) * 10, np.minimum(np.exp(2 * x - 2), 10)))
            prey = -10 * caught - bound.sum(1)
            return np.concatenate([np.repeat(10 * caught[:, None], n - 1, 1), prey[:, None]], 1)
        goal_pos = self.landmark_pos[np.arange(B), self.goal]
        if self.scenario == "speaker_listener":
            r = -((self.agent_pos[:, 1] - goal_pos) ** 2).sum(-1)
            return np.stack([r, r], 1)
        d_goal = np.linalg.norm(self.agent_pos - goal_pos[:, None], axis=-1)   # (B, n)
        good = -d_goal[:, 1:].min(1) + d_goal[:, 0]
        return np.concatenate([-d_goal[:, :1], np.repeat(good[:, None], n - 1, 1)], 1)

    # -- what the lab measures (Lowe et al.'s benchmark quantities) ----------------------------------------
    def collisions_matrix(self) -> np.ndarray:
        """(B, n, n) bool: agents i ≠ j overlap (|p_i − p_j| < r_i + r_j)."""
        d = np.linalg.norm(self.agent_pos[:, :, None] - self.agent_pos[:, None], axis=-1)
        return (d < (self.size[:, None] + self.size[None, :])) & ~np.eye(self.n_agents, dtype=bool)

    def captures(self) -> np.ndarray:
        """tag: (B,) predator–prey pairs in contact now (mpe2's benchmark_data summed over the predators)."""
        return self.collisions_matrix()[:, -1, :-1].sum(1)

    def coverage_distance(self) -> np.ndarray:
        """Σ over landmarks of the nearest agent's distance (B,), spread only."""
        return self._landmark_dists().min(1).sum(1)

    def goal_distances(self) -> np.ndarray:
        """|p_agent − goal| (B, n_agents), speaker_listener and adversary."""
        goal_pos = self.landmark_pos[np.arange(self.B), self.goal]
        return np.linalg.norm(self.agent_pos - goal_pos[:, None], axis=-1)


def flee_action(prey_obs: np.ndarray, thrust: float) -> np.ndarray:
    """tag's scripted prey: from its own observation (B, 14), push away from the predators, each weighted by
    1/distance² (the nearest dominates), and back towards the centre once |x| or |y| passes 0.8, where mpe2 starts
    to penalise it. Returns mpe2 continuous actions (B, 5) whose larger push component equals `thrust` (0 to 1)."""
    pos = prey_obs[:, 2:4].astype(float)
    rel = prey_obs[:, 4 + 2 * TAG_OBSTACLES:4 + 2 * TAG_OBSTACLES + 2 * TAG_PREDATORS].astype(float)
    rel = rel.reshape(len(prey_obs), TAG_PREDATORS, 2)                    # predators' positions relative to the prey
    away = -(rel / np.maximum((rel ** 2).sum(-1, keepdims=True), 1e-6)).sum(1)
    home = -np.sign(pos) * (np.abs(pos) > 0.8) * np.abs(away).max(1, keepdims=True)
    d = away + home
    d = d / np.maximum(np.abs(d).max(1, keepdims=True), 1e-9) * thrust
    return np.stack([np.zeros(len(d)), np.maximum(-d[:, 0], 0), np.maximum(d[:, 0], 0),
                     np.maximum(-d[:, 1], 0), np.maximum(d[:, 1], 0)], 1).astype(np.float32)
