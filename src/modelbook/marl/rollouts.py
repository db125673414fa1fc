"""Episodes on mpe2 itself, with trained actors, in one process or spread over worker processes.

This is where the lab's multi-agent numbers come from: the real mpe2 envs (parallel API, continuous
actions), the actors' weights copied out as numpy arrays, one fixed seed per episode. Because every
episode is fully determined by its seed and the weights, splitting the seeds over W worker processes
gives exactly the same episodes as running them in one process, only (ideally) W times faster: the
pattern of distributed RL systems where many actor processes generate experience for one learner.

Workers are started with the 'fork' method: they only run numpy and mpe2 (this module imports no torch),
and forking avoids re-importing everything in each worker, which would cost more than the episodes.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ENVS = {"spread": "simple_spread_v3", "speaker_listener": "simple_speaker_listener_v4", "adversary": "simple_adversary_v3",
        "tag": "simple_tag_v3"}


def make_env(scenario: str):
    import importlib

    return importlib.import_module(f"mpe2.{ENVS[scenario]}").parallel_env(continuous_actions=True)


def numpy_actor(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The actor MLP (ReLU, ReLU, sigmoid) in numpy: params [W1, b1, W2, b2, W3, b3] with W (d_in, d_out)."""
    for k in range(0, len(params), 2):
        x = x @ params[k] + params[k + 1].reshape(-1)
        x = np.maximum(x, 0.0) if k < len(params) - 2 else 1.0 / (1.0 + np.exp(-x))
    return x


@dataclass
class EpisodeStats:
    returns: np.ndarray           # (E, N) sum of each agent's rewards
    coverage: np.ndarray          # (E,) spread: Σ_landmarks min_agent distance, averaged over the steps
    occupied: np.ndarray          # (E,) spread: landmarks with an agent within 0.1 at the last step
    collisions: np.ndarray        # (E,) spread: agent pairs in contact, summed over the steps
    goal_distance: np.ndarray     # (E, N) speaker_listener / adversary: each agent's distance to the goal, last step
    captures: np.ndarray | None = None   # (E,) tag: predator–prey pairs in contact, summed over the steps

    @staticmethod
    def concat(parts: list["EpisodeStats"]) -> "EpisodeStats":
        return EpisodeStats(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                              ("returns", "coverage", "occupied", "collisions", "goal_distance", "captures")))


def run_episodes(scenario: str, params: list[list[np.ndarray]] | None, seeds: list[int],
                 comm_ablation: bool = False, prey_thrust: float | None = None) -> EpisodeStats:
    """Play one episode per seed on mpe2. params=None plays uniformly random actions (seeded by the episode).
    tag with prey_thrust: the prey flees by script (mpe_batch.flee_action), params (or random) move the predators."""
    from modelbook.marl.mpe_batch import flee_action

    env = make_env(scenario)
    names = env.possible_agents
    returns, coverage, occupied, collisions, goal_d, captures = [], [], [], [], [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        world = env.unwrapped.world
        total, cover, touching, caught = np.zeros(len(names)), [], 0, 0
        while env.agents:
            actions = {}
            for i, name in enumerate(names):
                o = obs[name].astype(np.float64)
                if comm_ablation and name.startswith("listener"):
                    o = o.copy()
                    o[-3:] = 0.0
                d_act = env.action_space(name).shape[0]
                if scenario == "tag" and prey_thrust is not None and name.startswith("agent"):
                    actions[name] = flee_action(o[None], prey_thrust)[0]
                elif params is None:
                    actions[name] = rng.random(d_act).astype(np.float32)
                else:
                    d_in = params[i][0].shape[0]
                    actions[name] = numpy_actor(params[i], np.pad(o, (0, d_in - len(o))))[:d_act].astype(np.float32)
            obs, rewards, _, _, _ = env.step(actions)
            total += [rewards[n] for n in names]
            if scenario == "spread":
                pos = np.array([a.state.p_pos for a in world.agents])
                lms = np.array([lm.state.p_pos for lm in world.landmarks])
                d_al = np.linalg.norm(pos[:, None] - lms[None], axis=-1)
                cover.append(d_al.min(0).sum())
                d_aa = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
                sizes = np.array([a.size for a in world.agents])
                touching += int(np.triu(d_aa < sizes[:, None] + sizes[None, :], 1).sum())
            if scenario == "tag":   # mpe2's benchmark_data for each predator: the good agents it touches
                bench = env.unwrapped.scenario.benchmark_data
                caught += sum(bench(a, world) for a in world.agents if a.adversary)
        returns.append(total)
        captures.append(caught)
        if scenario == "tag":
            coverage.append(0.0), occupied.append(0), collisions.append(0), goal_d.append(np.zeros(len(names)))
        elif scenario == "spread":
            coverage.append(np.mean(cover))
            occupied.append(int((d_al.min(0) < 0.1).sum()))
            collisions.append(touching)
            goal_d.append(np.zeros(len(names)))
        else:
            goal = world.agents[0].goal_b if scenario == "speaker_listener" else world.agents[0].goal_a
            goal_d.append([np.linalg.norm(a.state.p_pos - goal.state.p_pos) for a in world.agents])
            coverage.append(0.0), occupied.append(0), collisions.append(0)
    env.close()
    return EpisodeStats(np.array(returns), np.array(coverage), np.array(occupied), np.array(collisions),
                        np.array(goal_d), np.array(captures))


def batched_episodes(scenario: str, params: list[list[np.ndarray]] | None, n_episodes: int, seed: int,
                     comm_ablation: bool = False, prey_thrust: float | None = None) -> EpisodeStats:
    """The same statistics from the batched worlds (mpe_batch.py, equal to mpe2 step for step): all episodes at
    once, so a thousand evaluation episodes cost about as much as a few on mpe2. tag with prey_thrust: the prey flees
    by script and params (or random actions) move the predators."""
    from modelbook.marl.mpe_batch import BatchedMPE, flee_action

    rng = np.random.default_rng(seed)
    env = BatchedMPE(scenario, n_episodes, rng)
    obs = env.reset()
    scripted = scenario == "tag" and prey_thrust is not None
    movers = env.n_agents - 1 if scripted else env.n_agents
    returns = np.zeros((n_episodes, env.n_agents))
    cover, touching, caught, done = [], np.zeros(n_episodes), np.zeros(n_episodes), False
    while not done:
        if comm_ablation and scenario == "speaker_listener":
            obs[1][:, -3:] = 0.0
        if params is None:
            acts = [rng.random((n_episodes, d)) for d in env.act_dims[:movers]]
        else:
            acts = [numpy_actor(p, np.pad(o.astype(np.float64), ((0, 0), (0, p[0].shape[0] - o.shape[1]))))[:, :d]
                    for p, o, d in zip(params, obs[:movers], env.act_dims)]
        if scripted:
            acts.append(flee_action(obs[-1], prey_thrust))
        obs, rewards, done = env.step([a.astype(np.float32) for a in acts])
        returns += rewards
        if scenario == "spread":
            cover.append(env.coverage_distance())
            touching += np.triu(env.collisions_matrix(), 1).sum((1, 2))
        if scenario == "tag":
            caught += env.captures()
    zeros = np.zeros(n_episodes)
    if scenario == "spread":
        d = env._landmark_dists().min(1)
        return EpisodeStats(returns, np.mean(cover, 0), (d < 0.1).sum(1), touching, np.zeros_like(returns), zeros)
    if scenario == "tag":
        return EpisodeStats(returns, zeros, zeros, zeros, np.zeros_like(returns), caught)
    return EpisodeStats(returns, zeros, zeros, zeros, env.goal_distances(), zeros)


def parallel_episodes(scenario: str, params, seeds: list[int], n_workers: int,
                      comm_ablation: bool = False) -> tuple[EpisodeStats, float]:
    """The same episodes as run_episodes, with the seeds split over n_workers processes; returns (stats, seconds)."""
    chunks = [list(c) for c in np.array_split(np.asarray(seeds), n_workers) if len(c)]
    t0 = time.perf_counter()
    if n_workers == 1:
        stats = run_episodes(scenario, params, seeds, comm_ablation)
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(n_workers) as pool:
            parts = pool.starmap(run_episodes, [(scenario, params, [int(s) for s in c], comm_ablation) for c in chunks])
        stats = EpisodeStats.concat(parts)
    return stats, time.perf_counter() - t0
