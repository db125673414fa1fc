"""Our PPO and DQN (modelbook.rl) side by side with Stable-Baselines3 on CartPole-v1.

Both implementations get the same hyper-parameters (SB3-zoo's CartPole settings), the same seeds and one torch
thread. Two measurements:

- equal work (quick and full): each trains for the same number of env steps with no evaluation that matters
  (ours evaluates one episode at the end; SB3 none), timed from construction to the end, interleaved repeats;
  the ratio ours / SB3 per size, and the exponent of time in env steps (≈ 1: the work per step is fixed).
- steps to solve (full only): every `eval_every` env steps the greedy policy plays 100 fresh episodes
  (modelbook.rl.envs.evaluate, identical seeds for both); training stops at the first mean >= 475 (gymnasium's
  threshold). Reported: env steps to solve, training wall time to solve (evaluation excluded), ours / SB3 per seed.
  Known differences: SB3's PPO anneals the clip range with the zoo's lin_0.2 (ours keeps 0.2) and clips the value
  loss only if asked (neither does here).

The quick form shrinks the per-rollout amounts (PPO's rollout and epochs, DQN's warm-up, train frequency and gradient
steps; the same for both) so that a few hundred steps exercise every part of the loop.
"""
from __future__ import annotations

import statistics
import time

from modelbook.bench.harness import Bench, interleaved

TITLE = "PPO/DQN (ours) vs Stable-Baselines3"
THRESHOLD = 475.0
THREADS = 1
# Equal-steps settings: the zoo's, except that the quick form shrinks every per-rollout amount (the same for both).
QUICK = dict(ppo_steps=[128, 256, 512], ppo_n_steps=16, ppo_epochs=10, ppo_batch=128,
             dqn_steps=[128, 256, 512], dqn_learning_starts=64, dqn_train_freq=64, dqn_gradient_steps=8,
             repeats=3, seeds=[], max_steps=0, eval_every=0)
FULL = dict(ppo_steps=[1024, 2048, 4096, 8192], ppo_n_steps=32, ppo_epochs=20, ppo_batch=256,
            dqn_steps=[2048, 4096, 8192], dqn_learning_starts=1000, dqn_train_freq=256, dqn_gradient_steps=128,
            repeats=3, seeds=[0, 1, 2], max_steps=100_000, eval_every=2_500)


def sb3_run(algo: str, seed: int, max_steps: int, eval_every: int) -> dict:
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from modelbook.rl.envs import evaluate

    class Judge(BaseCallback):
        """Greedy 100-episode evaluation every eval_every steps, with the time it takes kept off the clock."""

        def __init__(self):
            super().__init__()
            self.next_eval, self.eval_seconds, self.solved_step, self.means = eval_every, 0.0, None, []

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += eval_every
            t0 = time.perf_counter()
            act = lambda obs: self.model.predict(obs, deterministic=True)[0]
            mean = float(evaluate(act, "CartPole-v1", 100, seed=10_000 + seed + self.num_timesteps).mean())
            self.eval_seconds += time.perf_counter() - t0
            self.means.append(mean)
            if mean >= THRESHOLD:
                self.solved_step = self.num_timesteps
                return False
            return True

    if algo == "dqn":
        env = make_vec_env("CartPole-v1", n_envs=1, seed=seed)
        model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                    gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                    exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu")
    else:
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                    learning_rate=lambda f: 1e-3 * f, clip_range=lambda f: 0.2 * f, seed=seed, device="cpu")
    judge = Judge()
    t0 = time.perf_counter()
    model.learn(total_timesteps=max_steps, callback=judge)
    wall = time.perf_counter() - t0 - judge.eval_seconds
    return {"solved_step": judge.solved_step, "seconds": wall, "steps": model.num_timesteps, "best": max(judge.means)}


def ours_run(algo: str, seed: int, max_steps: int, eval_every: int) -> dict:
    from modelbook.rl.dqn import DQNConfig, train_dqn
    from modelbook.rl.ppo import PPOConfig, train_ppo

    if algo == "dqn":
        res = train_dqn("CartPole-v1", DQNConfig(total_steps=max_steps, eval_every=eval_every), seed)
    else:
        res = train_ppo("CartPole-v1", PPOConfig(total_steps=max_steps, eval_every=eval_every), seed)
    log = res.log
    return {"solved_step": log.solved_step, "seconds": log.solved_seconds if log.solved_step else log.train_seconds,
            "steps": log.steps, "best": max(log.eval_means)}


def equal_steps(algo: str, steps: int, p: dict):
    """(ours, sb3): zero-argument functions that train `algo` for `steps` env steps, hyper-parameters equal."""
    import warnings

    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env

    from modelbook.rl.dqn import DQNConfig, train_dqn
    from modelbook.rl.ppo import PPOConfig, train_ppo

    quiet = dict(eval_every=10**9, eval_episodes=1, solve_threshold=None)
    starts, freq, grad_steps = p["dqn_learning_starts"], p["dqn_train_freq"], p["dqn_gradient_steps"]
    n_steps, epochs, batch = p["ppo_n_steps"], p["ppo_epochs"], p["ppo_batch"]

    def ours():
        if algo == "dqn":
            train_dqn("CartPole-v1", DQNConfig(total_steps=steps, learning_starts=starts, train_freq=freq,
                                               gradient_steps=grad_steps, **quiet), 0)
        else:
            train_ppo("CartPole-v1", PPOConfig(total_steps=steps, n_steps=n_steps, n_epochs=epochs,
                                               minibatch_size=batch, **quiet), 0)

    def sb3():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if algo == "dqn":
                model = DQN("MlpPolicy", make_vec_env("CartPole-v1", n_envs=1, seed=0), learning_rate=2.3e-3, batch_size=64,
                            buffer_size=100_000, learning_starts=starts, gamma=0.99, target_update_interval=10,
                            train_freq=freq, gradient_steps=grad_steps, exploration_fraction=0.16,
                            exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]), seed=0, device="cpu")
            else:
                model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=0), n_steps=n_steps,
                            batch_size=batch, gae_lambda=0.8, gamma=0.98, n_epochs=epochs, ent_coef=0.0,
                            learning_rate=lambda f: 1e-3 * f, clip_range=lambda f: 0.2 * f, seed=0, device="cpu")
            model.learn(total_timesteps=steps)

    return ours, sb3


def run(quick: bool):
    p = QUICK if quick else FULL
    b = Bench("rl", quick, p)
    for j, algo in enumerate(("ppo", "dqn")):
        sizes = p[f"{algo}_steps"]
        med: dict[str, list[float]] = {"ours": [], "sb3": []}
        for i, steps in enumerate(sizes):
            ours, sb3 = equal_steps(algo, steps, p)
            times = interleaved({"ours": ours, "sb3": sb3}, p["repeats"], warmup=1 if i == j == 0 else 0)
            b.ratio(f"{algo} ours/sb3", f"steps={steps}", times["ours"], times["sb3"])
            for k in med:
                med[k].append(sorted(times[k])[len(times[k]) // 2])
        for k, v in med.items():
            b.exponent(f"{algo} {k} vs steps", sizes, v)
        b.within(f"time exponent of our {algo.upper()} in env steps", b.result.value(f"exponent {algo} ours vs steps"),
                 0.3, 1.7, "a fixed amount of work per env step (rollout, then a fixed number of updates per rollout)",
                 note="a timing: a wide band (the machine is shared); set-up costs pull it below 1 at few steps "
                      "(0.51 for PPO from 128 to 512 steps in one quick run)")
    for algo in ("dqn", "ppo") if p["seeds"] else ():
        ours_s, sb3_s, ours_steps, sb3_steps = [], [], [], []
        for seed in p["seeds"]:
            ours = ours_run(algo, seed, p["max_steps"], p["eval_every"])
            sb3 = sb3_run(algo, seed, p["max_steps"], p["eval_every"])
            ours_s.append(ours["seconds"])
            sb3_s.append(sb3["seconds"])
            ours_steps.append(ours["solved_step"] or float("inf"))
            sb3_steps.append(sb3["solved_step"] or float("inf"))
        b.ratio(f"{algo} time to solve ours/sb3", "seeds", ours_s, sb3_s)
        b.value(f"{algo} steps to solve ours (median over seeds)", statistics.median(ours_steps), "steps", volatile=False)
        b.value(f"{algo} steps to solve sb3 (median over seeds)", statistics.median(sb3_steps), "steps")
    b.note(f"CartPole-v1, one torch thread; equal steps: median of {p['repeats']} interleaved repeats, from construction "
           "to the end of training; < 1 means ours is faster."
           + (f" Steps to solve: greedy mean >= {THRESHOLD:g} over 100 episodes, evaluated every {p['eval_every']} "
              f"steps, budget {p['max_steps']:,} steps, seeds {p['seeds']} (wall time excludes evaluation; "
              "inf = never solved)." if p["seeds"] else ""))
    return b.result
