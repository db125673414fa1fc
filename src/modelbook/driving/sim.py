"""highway-env plumbing: a faster kinematics observation, registered env ids, the IDM/MOBIL ego, episodes.

highway-env (Leurent 2018) simulates a straight multi-lane road: other cars follow IDM (Treiber et al. 2000)
for speed and MOBIL (Kesting et al. 2007) for lane changes; the ego takes one of five meta-actions per
second (LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER). Reward per step, normalised to [0, 1]:
    r = lmap(w_collision·crashed + w_right·lane/(L−1) + w_speed·clip((v − 20)/(30 − 20), 0, 1))
and a crash ends the episode.

`FastKinematics` computes the same observation as highway-env's "Kinematics" (ego row absolute, the 4 nearest
vehicles ahead relative, normalised and clipped) with plain numpy instead of pandas, which was about half of a
step's time; tests/driving/test_sim.py holds the two equal on the same states. The env ids registered here
return it flattened to (25,), so modelbook.rl's DQN and PPO, written for flat observations, train on it as is.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

N_OBSERVED = 5
FEATURES = ("presence", "x", "y", "vx", "vy")
ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")
BASE_CONFIG = {"lanes_count": 3, "vehicles_count": 10, "duration": 20}
"""smaller than highway-fast-v0's defaults (20 vehicles, 30 s): a step costs about half"""


def _highway_module():
    import gymnasium as gym
    import highway_env

    gym.register_envs(highway_env)
    return highway_env


def kinematics(env) -> np.ndarray:
    """highway-env's Kinematics observation (N_OBSERVED, 5) of env's ego, computed with numpy."""
    from highway_env.road.lane import AbstractLane
    from highway_env.vehicle.kinematics import Vehicle

    ego = env.vehicle
    n_side = len(env.road.network.all_side_lanes(ego.lane_index))
    scale = np.array([5.0 * Vehicle.MAX_SPEED, AbstractLane.DEFAULT_WIDTH * n_side, 2 * Vehicle.MAX_SPEED, 2 * Vehicle.MAX_SPEED])
    rows = [np.r_[ego.position, ego.velocity]]
    close = env.road.close_objects_to(ego, env.PERCEPTION_DISTANCE, count=N_OBSERVED - 1, see_behind=False, sort=True,
                                      vehicles_only=False)
    rows += [np.r_[v.position - ego.position, v.velocity - ego.velocity] for v in close[-N_OBSERVED + 1:]]
    obs = np.zeros((N_OBSERVED, len(FEATURES)), np.float32)
    obs[:len(rows), 0] = 1
    obs[:len(rows), 1:] = np.clip(np.array(rows) / scale, -1, 1)  # lmap([-s, s] -> [-1, 1]) is x / s
    return obs


def _fast_class():
    from gymnasium import spaces
    from highway_env.envs.highway_env import HighwayEnvFast

    class FastHighway(HighwayEnvFast):
        """highway-fast-v0 with the numpy kinematics observation, flattened to (25,)."""

        def define_spaces(self) -> None:
            super().define_spaces()
            self.observation_space = spaces.Box(-1, 1, (N_OBSERVED * len(FEATURES),), np.float32)
            # the parent's reset and step call observation_type.observe(), which define_spaces has just rebuilt:
            # send it to the numpy version (the pandas one was ~80% of a reset's time; "sorted" order, no RNG drawn)
            self.observation_type.observe = self._observe

        def _observe(self):
            return kinematics(self).ravel()

    return FastHighway


def env_id(config: dict | None = None) -> str:
    """A gymnasium id for FastHighway with BASE_CONFIG updated by `config` (registered on first use)."""
    import gymnasium as gym

    _highway_module()
    full = {**BASE_CONFIG, **(config or {})}
    name = "modelbook/highway-" + hashlib.sha1(json.dumps(full, sort_keys=True).encode(), usedforsecurity=False).hexdigest()[:10] + "-v0"
    if name not in gym.registry:
        gym.register(name, entry_point=_fast_class(), kwargs={"config": full})
    return name


def make(config: dict | None = None, render: bool = False):
    import gymnasium as gym

    return gym.make(env_id(config), render_mode="rgb_array" if render else None)


def idm_mobil_ego(env, target_speed: float = 30.0) -> None:
    """Replace the ego by highway-env's own rule-based driver (IDMVehicle: IDM + MOBIL), as the other cars drive.
    The env's actions are then ignored; the driver acts at every simulation step."""
    from highway_env.vehicle.behavior import IDMVehicle

    u = env.unwrapped
    ego = u.vehicle
    driver = IDMVehicle.create_from(ego)
    driver.target_speed = target_speed
    u.road.vehicles[u.road.vehicles.index(ego)] = driver
    u.controlled_vehicles[0] = driver
    u.action_type.controlled_vehicle = driver
    u.observation_type.observer_vehicle = driver


@dataclass
class Episodes:
    """Per-episode outcomes of one policy on a list of seeds: arrays of shape (n_episodes,)."""

    returns: np.ndarray
    crashed: np.ndarray
    mean_speed: np.ndarray
    steps: np.ndarray


def run_episodes(policy, seeds, config: dict | None = None) -> Episodes:
    """policy: "idm" (highway-env's IDM/MOBIL driver), "random" (uniform actions from a generator seeded per
    episode) or a function obs (1, 25) -> action (1,). Episode i is reset with seeds[i]: every policy meets the
    same initial traffic."""
    env = make(config)
    out = {k: [] for k in ("returns", "crashed", "mean_speed", "steps")}
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        rng = np.random.default_rng(int(seed))
        if policy == "idm":
            idm_mobil_ego(env)
        total, speeds, done, info = 0.0, [], False, {}
        while not done:
            if policy == "random":
                action = int(rng.integers(len(ACTIONS)))
            elif policy == "idm":
                action = 1
            else:
                action = int(policy(obs[None])[0])
            obs, r, term, trunc, info = env.step(action)
            total += r
            speeds.append(info["speed"])
            done = term or trunc
        out["returns"].append(total)
        out["crashed"].append(float(info["crashed"]))
        out["mean_speed"].append(float(np.mean(speeds)))
        out["steps"].append(len(speeds))
    env.close()
    return Episodes(**{k: np.array(v) for k, v in out.items()})


@dataclass
class Drive:
    """One logged episode, every car driven by IDM/MOBIL (the ego too), sampled every DT seconds.

    positions (T, n, 2) and headings (T, n) of every car; ego: the ego's index among them; frames: rendered
    top-down views every `render_every` samples, each with the viewer's origin (2,) and scale (pixels per metre)
    and the sample index it was taken at."""

    positions: np.ndarray
    headings: np.ndarray
    ego: int
    frames: list
    origins: list
    scalings: list
    frame_steps: list


def drive(seed: int, seconds: float, traffic: dict, size: int | None = None, scaling: float = 2.5,
          render_every: int = 5) -> Drive:
    """Log an episode at the simulator's own rate; size: render square frames of that many pixels (None: no frames)."""
    config = dict(traffic)
    if size:
        config.update(screen_width=size, screen_height=size, scaling=scaling)
    env = make(config, render=bool(size))
    env.reset(seed=seed)
    idm_mobil_ego(env)
    u = env.unwrapped
    dt = 1.0 / u.config["simulation_frequency"]
    cars = list(u.road.vehicles)
    pos, head, frames, origins, scalings, steps = [], [], [], [], [], []
    for t in range(int(round(seconds / dt))):
        u.road.act()
        u.road.step(dt)
        pos.append([c.position.copy() for c in cars])
        head.append([c.heading for c in cars])
        if size and t % render_every == render_every - 1:
            frames.append(env.render())
            surface = u.viewer.sim_surface
            origins.append(np.array(surface.origin, dtype=float))
            scalings.append(float(surface.scaling))
            steps.append(t)
    env.close()
    return Drive(np.array(pos), np.array(head), cars.index(u.vehicle), frames, origins, scalings, steps)
