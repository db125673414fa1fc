"""Our DQN and PPO (modelbook.rl) side by side with Stable-Baselines3 on CartPole-v1.

    PYTHONPATH=src .venv/bin/python benchmarks/rl_vs_sb3.py [--seeds 0,1,2] [--algos dqn,ppo] [--max-steps 100000]

Both implementations get the same hyper-parameters (SB3-zoo's CartPole settings), the same seeds, the same
budget of env steps, one torch thread each, and the same judge: every `eval_every` env steps the greedy policy
plays 100 fresh episodes (modelbook.rl.envs.evaluate, identical seeds for both); training stops at the first
mean >= 475 (gymnasium's threshold). Reported: env steps to solve, training wall time to solve (evaluation time
excluded) and the ratio ours / SB3. Times are machine-dependent; the ratio, measured in one process, is the
number to read. Known differences: SB3's PPO anneals the clip range with the zoo's lin_0.2 (ours keeps 0.2)
and clips the value loss only if asked (neither does here).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from modelbook.rl.dqn import DQNConfig, train_dqn
from modelbook.rl.envs import evaluate
from modelbook.rl.ppo import PPOConfig, train_ppo

THRESHOLD = 475.0


def sb3_run(algo: str, seed: int, max_steps: int, eval_every: int) -> dict:
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

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
    if algo == "dqn":
        res = train_dqn("CartPole-v1", DQNConfig(total_steps=max_steps, eval_every=eval_every), seed)
    else:
        res = train_ppo("CartPole-v1", PPOConfig(total_steps=max_steps, eval_every=eval_every), seed)
    log = res.log
    return {"solved_step": log.solved_step, "seconds": log.solved_seconds if log.solved_step else log.train_seconds,
            "steps": log.steps, "best": max(log.eval_means)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--algos", default="dqn,ppo")
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=2_500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"CartPole-v1, solved = greedy mean >= {THRESHOLD:g} over 100 episodes, evaluated every {args.eval_every} "
          f"steps; budget {args.max_steps:,} steps; torch {torch.__version__}, 1 thread\n")
    header = (f"{'algo':>4} | {'seed':>4} | {'ours: steps':>11} | {'SB3: steps':>10} | {'ours: s':>8} | {'SB3: s':>7} | "
              f"{'time ours/SB3':>13} | {'time per step ours/SB3':>22}")
    print(header)
    print("-" * len(header))
    for algo in args.algos.split(","):
        ratios, ours_steps, sb3_steps = [], [], []
        for seed in seeds:
            ours = ours_run(algo, seed, args.max_steps, args.eval_every)
            sb3 = sb3_run(algo, seed, args.max_steps, args.eval_every)
            fmt = lambda r: f"{r['solved_step']:,}" if r["solved_step"] else f">{r['steps']:,}"
            ratio = ours["seconds"] / sb3["seconds"]
            per_step = ((ours["seconds"] / (ours["solved_step"] or ours["steps"]))
                        / (sb3["seconds"] / (sb3["solved_step"] or sb3["steps"])))
            ratios.append(ratio)
            ours_steps.append(ours["solved_step"] or np.inf)
            sb3_steps.append(sb3["solved_step"] or np.inf)
            print(f"{algo:>4} | {seed:>4} | {fmt(ours):>11} | {fmt(sb3):>10} | {ours['seconds']:8.1f} | "
                  f"{sb3['seconds']:7.1f} | {ratio:13.2f} | {per_step:22.2f}", flush=True)
        print(f"{algo:>4} | median steps to solve: ours {statistics.median(ours_steps):,.0f}, "
              f"SB3 {statistics.median(sb3_steps):,.0f}; median wall-time ratio ours/SB3 {statistics.median(ratios):.2f}")
    print("\n(wall time = training to the first passing evaluation, or the whole budget if never solved; "
          "times are volatile, the ratio is the figure to compare)")


if __name__ == "__main__":
    main()
