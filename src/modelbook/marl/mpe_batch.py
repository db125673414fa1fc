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
"""
from __future__ import annotations

import numpy as np

DT, DAMPING, CONTACT_FORCE, CONTACT_MARGIN, SENSITIVITY = 0.1, 0.25, 100.0, 1e-3, 5.0
LANDMARK_COLOURS = np.array([[0.65, 0.15, 0.15], [0.15, 0.65, 0.15], [0.15, 0.15, 0.65]])
SCENARIOS = ("spread", "speaker_listener", "adversary")


class BatchedMPE:
    """B parallel episodes of one scenario. Agents are ordered as in mpe2 (env.possible_agents)."""

    def __init__(self, scenario: str, n_envs: int, rng: np.random.Generator, max_cycles: int = 25, n: int = 3):
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
        self.scenario, self.B, self.rng, self.max_cycles = scenario, n_envs, rng, max_cycles
        if scenario == "spread":
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
        self.reset()

    # -- state ----------------------------------------------------------------------------------------
    def reset(self) -> list[np.ndarray]:
        B, rng = self.B, self.rng
        self.t = 0
        self.agent_pos = rng.uniform(-1, 1, (B, self.n_agents, 2))
        self.agent_vel = np.zeros((B, self.n_agents, 2))
        self.landmark_pos = rng.uniform(-1, 1, (B, self.n_landmarks, 2))
        self.comm = np.zeros((B, 3))                                    # the speaker's utterance
        self.goal = rng.integers(0, self.n_landmarks, B) if self.scenario != "spread" else None
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
                force[:, i, 0] = (a[:, 2] - a[:, 1]).astype(float) * SENSITIVITY
                force[:, i, 1] = (a[:, 4] - a[:, 3]).astype(float) * SENSITIVITY
        if self.collide:
            force += self._contact_forces()
        mov = self.movable
        # mpe2's order: position moves with the old velocity, then the velocity is damped and accelerated
        self.agent_pos[:, mov] += self.agent_vel[:, mov] * DT
        self.agent_vel[:, mov] = self.agent_vel[:, mov] * (1 - DAMPING) + force[:, mov] * DT
        if self.scenario == "speaker_listener":
            self.comm = acts[0].astype(float).copy()
        self.t += 1
        return self.observations(), self.rewards(), self.t >= self.max_cycles

    def _contact_forces(self) -> np.ndarray:
        delta = self.agent_pos[:, :, None, :] - self.agent_pos[:, None, :, :]     # (B, n, n, 2): p_i − p_j
        dist = np.sqrt((delta ** 2).sum(-1))                                        # (B, n, n)
        dist_min = self.size[:, None] + self.size[None, :]
        k = CONTACT_MARGIN
        penetration = np.logaddexp(0, -(dist - dist_min) / k) * k
        off_diag = ~np.eye(self.n_agents, dtype=bool)
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

    def coverage_distance(self) -> np.ndarray:
        """Σ over landmarks of the nearest agent's distance (B,), spread only."""
        return self._landmark_dists().min(1).sum(1)

    def goal_distances(self) -> np.ndarray:
        """|p_agent − goal| (B, n_agents), speaker_listener and adversary."""
        goal_pos = self.landmark_pos[np.arange(self.B), self.goal]
        return np.linalg.norm(self.agent_pos - goal_pos[:, None], axis=-1)
