"""gymnasium plumbing for the deep methods: seeded vector envs, evaluation, and the training log.

Seeding follows CleanRL: `envs.reset(seed=seed)` seeds env i with seed + i, and the action spaces are
seeded too, so a run is reproducible from its seed. Training envs use gymnasium's SAME_STEP autoreset: the
step that ends an episode already returns the next episode's first observation, and the last observation
of the finished one is in info["final_obs"] (needed to bootstrap through a time-limit truncation).

"Solved" for CartPole-v1 is gymnasium's reward_threshold, 475, as a mean over 100 episodes. We evaluate the
greedy (deterministic) policy on 100 fresh episodes every `eval_every` env steps; the env steps and the
training wall time (evaluation excluded) at the first passing evaluation are the time to solve.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Act = Callable[[np.ndarray], np.ndarray]  # observations (n, d) -> actions (n,)
PERIODIC_EVAL_SEED = 10_000  # periodic evaluations seed env i with 10,000 + seed + step + i: apart from the training envs (seed + i)
FINAL_EVAL_SEED = 1_000_000  # the final evaluation seeds env i with 1,000,000 + seed + i: apart from the training envs and,
#                              for runs under 990k steps, from every periodic evaluation


def make_vec(env_id: str, n_envs: int, seed: int, **kwargs):
    """A synchronous vector env with SAME_STEP autoreset; returns (envs, first observations (n, d))."""
    import gymnasium as gym

    envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}, **kwargs)
    obs, _ = envs.reset(seed=seed)
    envs.action_space.seed(seed)
    return envs, obs


def evaluate(act: Act, env_id: str, n_episodes: int, seed: int) -> np.ndarray:
    """Returns of `n_episodes` episodes (n_episodes,), one per env of a vector env, all run at once.

    CartPole has a numpy-vectorised implementation in gymnasium (one array op per step for all envs); other
    envs run as a sync vector env. Each env's first episode is counted and anything after it ignored.
    """
    import gymnasium as gym

    try:
        envs = gym.make_vec(env_id, num_envs=n_episodes, vectorization_mode="vector_entry_point")
    except Exception:  # no vectorised implementation registered: gymnasium raises a plain Error
        envs = gym.make_vec(env_id, num_envs=n_episodes, vectorization_mode="sync")
    obs, _ = envs.reset(seed=seed)
    returns = np.zeros(n_episodes)
    running = np.ones(n_episodes, dtype=bool)
    while running.any():
        obs, r, term, trunc, _ = envs.step(act(obs))
        returns += r * running
        running &= ~(term | trunc)
    envs.close()
    return returns


def final_evaluation(act: Act, env_id: str, n_episodes: int, seed: int) -> tuple[float, float]:
    """Mean return of the final policy over `n_episodes` fresh episodes, and the standard error of that mean.

    One evaluation of a policy fixed in advance, on episodes no training env and no periodic evaluation
    started from: unbiased, unlike the best of several periodic evaluations (a maximum of noisy estimates) or
    the evaluation at which training stopped because it passed a threshold.
    """
    returns = evaluate(act, env_id, n_episodes, FINAL_EVAL_SEED + seed)
    return float(returns.mean()), float(returns.std(ddof=1) / np.sqrt(n_episodes))


def cartpole_discounted_values(act: Act, states: np.ndarray, gamma: float, horizon: int = 1000) -> np.ndarray:
    """The true discounted return Σ_t γ^t r_t of the policy `act`, started from each CartPole state (n, 4).

    CartPole is deterministic once its state is set, so one rollout per state gives the exact value. There
    is no time limit here: a Q-network bootstraps through truncation, so its values are infinite-horizon
    ones; horizon=1000 leaves out at most γ^1000 / (1 - γ) (4e-3 for γ = 0.99).
    """
    import gymnasium as gym

    n = len(states)
    envs = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point", max_episode_steps=horizon + 1)
    envs.reset(seed=0)
    envs.unwrapped.state = states.T.astype(np.float64).copy()              # (4, n)
    obs = states.astype(np.float32)
    values = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    for t in range(horizon):
        obs, r, term, trunc, _ = envs.step(act(obs))
        values += alive * (gamma ** t) * r
        alive &= ~term
        if not alive.any():
            break
    envs.close()
    return values


@dataclass(frozen=True)
class EvalSpec:
    """How a training loop judges itself; every algorithm's config extends this."""

    eval_every: int = 5_000
    """env steps between greedy evaluations"""
    eval_episodes: int = 100
    solve_threshold: float | None = 475.0
    """mean evaluation return that counts as solved (None: never stop early)"""
    stop_when_solved: bool = True


@dataclass
class TrainLog:
    """What a training loop measures: episodes while learning, periodic greedy evaluations, time to solve."""

    env_id: str
    seed: int
    eval_every: int
    eval_episodes: int = 100
    solve_threshold: float | None = None
    stop_when_solved: bool = True
    episode_returns: list[float] = field(default_factory=list)
    episode_end_steps: list[int] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_means: list[float] = field(default_factory=list)
    solved_step: int | None = None
    solved_seconds: float | None = None
    steps: int = 0
    train_seconds: float = 0.0
    _running: np.ndarray | None = None
    _clock: float = 0.0
    _next_eval: int = 0

    @classmethod
    def for_run(cls, env_id: str, seed: int, spec: EvalSpec) -> "TrainLog":
        return cls(env_id, seed, spec.eval_every, spec.eval_episodes, spec.solve_threshold, spec.stop_when_solved)

    def start(self, n_envs: int) -> None:
        self._running = np.zeros(n_envs)
        self._next_eval = self.eval_every
        self._clock = time.perf_counter()

    def record_step(self, step: int, rewards: np.ndarray, dones: np.ndarray) -> None:
        """After an env step: accumulate per-env returns and log the episodes that ended."""
        self.steps = step
        self._running += rewards
        for i in np.flatnonzero(dones):
            self.episode_returns.append(float(self._running[i]))
            self.episode_end_steps.append(step)
            self._running[i] = 0.0

    def maybe_evaluate(self, step: int, act: Act) -> bool:
        """Evaluate when due; True when training should stop (solved and stop_when_solved)."""
        self.steps = step
        if step < self._next_eval:
            return False
        self._next_eval += self.eval_every
        self.train_seconds += time.perf_counter() - self._clock
        mean = float(evaluate(act, self.env_id, self.eval_episodes, seed=PERIODIC_EVAL_SEED + self.seed + step).mean())
        self.eval_steps.append(step)
        self.eval_means.append(mean)
        if self.solved_step is None and self.solve_threshold is not None and mean >= self.solve_threshold:
            self.solved_step, self.solved_seconds = step, self.train_seconds
        self._clock = time.perf_counter()
        return self.solved_step is not None and self.stop_when_solved

    def finish(self, act: Act) -> "TrainLog":
        """Stop the clock; evaluate once more if the last evaluation was not at the final step."""
        if not self.eval_steps or self.eval_steps[-1] != self.steps:
            self._next_eval = self.steps
            self.maybe_evaluate(self.steps, act)
        self.train_seconds += time.perf_counter() - self._clock
        self._clock = time.perf_counter()
        return self

    def moving_average(self, window: int = 100) -> float:
        """Mean return of the last `window` training episodes (nan before any episode ends)."""
        tail = self.episode_returns[-window:]
        return float(np.mean(tail)) if tail else float("nan")
