"""RL: Q-learning vs SARSA on CliffWalking; REINFORCE, DQN, A2C and PPO on CartPole; PPO on LunarLander (topic 30).

What this lab shows
  1. Sutton & Barto Example 6.6 on gymnasium's CliffWalking-v1 (α = 0.5, ε = 0.1, γ = 1, many runs):
     Q-learning learns the optimal cliff-edge path (greedy return −13) but, exploring ε-greedily along the
     edge, falls in now and then: its online return sits near the exact value of the ε-greedy policy on Q*,
     computed here by policy evaluation (≈ −50.8). SARSA learns the values of the policy it follows,
     exploration included, and takes the longer safe path (−17) for a much better online return (≈ −25).
     Expected SARSA lands on the best ε-greedy policy's exact value (≈ −20.7).
  2. CartPole-v1 with REINFORCE + learned baseline, DQN, A2C and PPO, each written out in modelbook.rl.
     Quick preset: about 10,000 env steps for REINFORCE and PPO, 2,000 for DQN; every method's final greedy
     policy ≥ 3 × a random policy (≈ 22), by the lower end of an interval. Full preset: each runs until a
     periodic evaluation of the greedy policy averages ≥ 475 over 100 episodes (gymnasium's reward_threshold);
     the env steps and training wall time to get there are reported, and the policy it stopped with must
     average ≥ 475 again on 100 fresh episodes.
  3. Full preset: PPO on LunarLander-v3 (Box2D), against the random policy, the 200 "solved" threshold and
     the SB3-zoo figure (242 after 1M steps).

Differences from the references
  - S&B's Figure 6.4 plots one learning curve; its ≈ −25 / ≈ −50 are read off the figure, so the checks use
    generous tolerances and lean on the exactly computable values instead.
  - "Solved" here is the greedy policy evaluated on 100 fresh episodes every few thousand steps, the same
    evaluator for every method (and for SB3 in benchmarks/rl_vs_sb3.py). The first evaluation that passes
    stops training, so it is biased upward (it was picked for passing); the checks therefore read one more
    evaluation of the final policy, on episodes seeded apart from training and from every periodic evaluation
    (modelbook.rl.envs.final_evaluation), with its standard error. CleanRL's 488.69 (DQN) and 492.40
    (PPO) are mean training-episode returns at the end of 500k steps; the last-100-episode training mean is
    reported beside it. DQN and PPO use SB3-zoo's CartPole hyper-parameters (zoo: 500 after 50k / 100k).
  - LunarLander runs far fewer steps than the zoo's 1M (CPU budget), so it is held to "clearly learned",
    not to 242. Its check reads the sampled policy (the one PPO optimises), chosen in advance; the greedy
    policy is reported beside it on the same fresh episodes.

Building blocks: modelbook/rl/{mdp,td,reinforce,dqn,a2c,ppo,rollout,advantages,buffers,networks,envs}.py
Cross-checks:    tests/rl/ (GAE vs SB3's RolloutBuffer, PPO loss by hand, Q-learning vs value iteration's Q*,
                 the tabular CliffWalking vs stepping gymnasium's env), tests/labs/test_rl.py
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.rl.a2c import A2CConfig, train_a2c
from modelbook.rl.dqn import DQNConfig, train_dqn
from modelbook.rl.envs import evaluate, final_evaluation
from modelbook.rl.mdp import epsilon_greedy_probs, from_gymnasium, greedy_path, policy_evaluation, value_iteration
from modelbook.rl.ppo import PPOConfig, train_ppo
from modelbook.rl.reinforce import ReinforceConfig, train_reinforce
from modelbook.rl.td import td_control

SB_66 = "Sutton & Barto, RL: An Introduction 2nd ed., Example 6.6 / Figure 6.4 (values read off the figure)"
GYM_CARTPOLE = "gymnasium 1.4 CartPole-v1 registration: reward_threshold=475 (mean over 100 episodes)"
ZOO = "DLR-RM/rl-baselines3-zoo benchmark.md (CartPole-v1: DQN 500 after 50k steps, PPO 500 after 100k)"
EXACT = "exact policy evaluation on gymnasium's CliffWalking-v1 transition table (modelbook.rl.mdp)"

CLIFF_EPSILON, CLIFF_ALPHA, CLIFF_GAMMA = 0.1, 0.5, 1.0  # S&B Example 6.6: ε-greedy ε, step size α, undiscounted
EDGE_PATH_RETURN = -13     # the optimal path, along the cliff edge: 13 steps of reward −1
EVAL_EPISODES = 100        # gymnasium's "solved" is a mean over 100 episodes; random baselines use as many
LAST_EPISODES = 100        # training return: the mean of the last 100 training episodes (metric last100_train_return)
CARTPOLE_SOLVED = 475      # CartPole-v1's reward_threshold
LUNAR_SOLVED = 200         # LunarLander-v3's reward_threshold
RANDOM_MULTIPLE = 3        # quick preset: each method's greedy return at least 3 × the random policy's ...
INTERVAL_Z = 2             # ... by the lower end of a ± 2-standard-error interval (≈ 97.7% one-sided)
ZOO_BUDGET = {"dqn": 50_000, "ppo": 100_000}  # SB3-zoo's env steps to reach 500 on CartPole-v1


@dataclass(frozen=True)
class Config:
    cliff_runs: int = 50
    """independent learners averaged for the CliffWalking curves (S&B use 50 in their code)"""
    cliff_episodes: int = 500
    cliff_methods: tuple[str, ...] = ("q_learning", "sarsa", "expected_sarsa")
    cliff_skip: int = 100
    """early episodes left out of the online-return average"""
    cartpole_solve: bool = True
    """train each method until its greedy policy averages ≥ 475 (checked); False: fixed small budgets, checked
    against a random policy"""
    reinforce: ReinforceConfig = ReinforceConfig()
    dqn: DQNConfig = DQNConfig()
    a2c: A2CConfig | None = A2CConfig()
    """None skips A2C"""
    ppo: PPOConfig = PPOConfig()
    lunar: PPOConfig | None = PPOConfig(total_steps=500_000, n_envs=16, n_steps=256, n_epochs=4, minibatch_size=128,
                                        lr=3e-4, gamma=0.999, gae_lambda=0.98, ent_coef=0.01, eval_every=50_000,
                                        eval_episodes=20, solve_threshold=None)
    """PPO on LunarLander-v3; None skips it"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


_QUICK_PG = dict(eval_every=10**9, solve_threshold=None)  # one evaluation, at the end
PRESETS = {
    "quick": Config(cliff_episodes=400, cliff_methods=("q_learning", "sarsa"), cartpole_solve=False,
                    reinforce=ReinforceConfig(total_steps=10_000, **_QUICK_PG),
                    dqn=DQNConfig(total_steps=2000, learning_starts=400, train_freq=100, gradient_steps=50,
                                  hidden=(128, 128), eps_fraction=0.25, **_QUICK_PG),
                    a2c=None, ppo=PPOConfig(total_steps=10_240, **_QUICK_PG), lunar=None),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("rl", cfg)
    _cliff_walking(result, cfg, out)
    _cartpole(result, cfg, out)
    if cfg.lunar is not None:
        _lunar_lander(result, cfg, out)
    return result


# -- 1. CliffWalking: Q-learning vs SARSA -------------------------------------------------------------
def _cliff_walking(result: LabResult, cfg: Config, out: Path) -> None:
    import gymnasium as gym

    mdp = from_gymnasium(gym.make("CliffWalking-v1"))
    start = int(np.argmax(mdp.start))
    eps, alpha, gamma = CLIFF_EPSILON, CLIFF_ALPHA, CLIFF_GAMMA
    q_star = value_iteration(mdp, gamma)
    exact_q = policy_evaluation(mdp, epsilon_greedy_probs(q_star, eps), gamma)[start]
    exact_soft = policy_evaluation(mdp, epsilon_greedy_probs(value_iteration(mdp, gamma, epsilon=eps), eps), gamma)[start]
    result.metric("cliff/exact_eps_greedy_on_qstar_return", exact_q)
    result.metric("cliff/exact_best_eps_greedy_return", exact_soft)
    result.metric("cliff/optimal_greedy_return", greedy_path(mdp, q_star)[1])

    rng = make_rng(cfg.seed)
    curves, paths = {}, {}
    for method in progress.track(cfg.cliff_methods, "CliffWalking TD control"):
        runs = td_control(mdp, method, cfg.cliff_runs, cfg.cliff_episodes, alpha, gamma, eps, rng)
        curves[method] = runs.returns.mean(0)
        online = result.metric(f"cliff/{method}/online_return", runs.returns[:, cfg.cliff_skip:].mean())
        greedy = np.array([greedy_path(mdp, runs.Q[i])[1] for i in range(cfg.cliff_runs)])
        edge, safe = greedy == EDGE_PATH_RETURN, (greedy < EDGE_PATH_RETURN) & np.isfinite(greedy)  # inf: no path
        result.metric(f"cliff/{method}/greedy_edge_path_fraction", np.mean(edge))
        result.metric(f"cliff/{method}/greedy_safe_path_fraction", np.mean(safe))
        paths[method] = greedy_path(mdp, runs.Q[0])[0]
        if method == "q_learning":
            result.check("Q-learning online return ≈ S&B Fig 6.4 (≈ −50)", online, reference=-50, tolerance=8, source=SB_66)
            result.check("Q-learning online return = exact value of ε-greedy(Q*)", online, reference=exact_q, tolerance=5, source=EXACT)
            result.check("Q-learning's greedy path is the cliff edge (−13), fraction of runs",
                         np.mean(edge), reference=0.9, tolerance=0.0, source=SB_66, kind="at_least")
        elif method == "sarsa":
            result.check("SARSA online return ≈ S&B Fig 6.4 (≈ −25)", online, reference=-25, tolerance=6, source=SB_66)
            result.check("SARSA's greedy path is a longer safe path, fraction of runs",
                         np.mean(safe), reference=0.7, tolerance=0.0, source=SB_66, kind="at_least")
        elif method == "expected_sarsa":
            result.check("expected SARSA online return = the best ε-greedy policy's exact value", online,
                         reference=exact_soft, tolerance=3, source=EXACT)
    gap = result.metric("cliff/sarsa_minus_q_learning_online", result.value("cliff/sarsa/online_return")
                        - result.value("cliff/q_learning/online_return"))
    result.check("SARSA earns more online than Q-learning (difference)", gap, reference=15, tolerance=0.0, source=SB_66, kind="at_least")
    _plot_cliff(curves, paths, mdp, exact_q, exact_soft, out, result)


def _plot_cliff(curves, paths, mdp, exact_q, exact_soft, out, result) -> None:
    fig, (ax1, ax2) = plots.figure(1, 2, size=(12, 3.8))
    window = 10
    for method, curve in curves.items():
        smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
        ax1.plot(np.arange(len(smooth)) + window, smooth, label=method.replace("_", " "))
    ax1.axhline(exact_q, ls=":", c="C0", lw=1, label=f"exact ε-greedy(Q*) {exact_q:.1f}")
    ax1.axhline(exact_soft, ls=":", c="C2", lw=1, label=f"best ε-greedy {exact_soft:.1f}")
    ax1.set(ylim=(-100, 0), xlabel="episode", ylabel="sum of rewards in episode", title="CliffWalking, online (S&B Fig 6.4)")
    ax1.legend(fontsize=7)
    rows, cols = mdp.shape
    grid = np.zeros((rows, cols))
    grid[rows - 1, 1:cols - 1] = 1  # the cliff
    ax2.imshow(grid, cmap="Reds", vmin=0, vmax=2)
    for i, (method, path) in enumerate(paths.items()):
        r, c = np.divmod(np.array(path), cols)
        ax2.plot(c + 0.08 * (i - 1), r + 0.08 * (i - 1), marker=".", label=f"{method.replace('_', ' ')} greedy path")
    ax2.set(title="learned greedy paths (run 0); red = cliff", xticks=[], yticks=[])
    ax2.legend(fontsize=7, loc="upper right")
    result.artifact(plots.save(fig, out / "cliff_walking.png"))


# -- 2. CartPole: REINFORCE, DQN, A2C, PPO ------------------------------------------------------------
def _cartpole(result: LabResult, cfg: Config, out: Path) -> None:
    random_rng = np.random.default_rng(cfg.seed)  # the random policy's actions (2: push left or right)
    random_returns = evaluate(lambda o: random_rng.integers(0, 2, len(o)), "CartPole-v1", EVAL_EPISODES, cfg.seed)
    random_mean = result.metric("cartpole/random_policy_return", random_returns.mean())
    random_se = random_returns.std(ddof=1) / np.sqrt(EVAL_EPISODES)
    trainers = [("reinforce", train_reinforce, cfg.reinforce), ("dqn", train_dqn, cfg.dqn),
                ("a2c", train_a2c, cfg.a2c), ("ppo", train_ppo, cfg.ppo)]
    logs = {}
    for name, train, algo_cfg in progress.track([t for t in trainers if t[2] is not None], "CartPole: REINFORCE, DQN, A2C, PPO"):
        trained = train("CartPole-v1", algo_cfg, cfg.seed)
        log = logs[name] = trained.log
        final, final_se = final_evaluation(trained.act, "CartPole-v1", EVAL_EPISODES, cfg.seed)
        result.metric(f"cartpole/{name}/final_eval_return", final)
        result.metric(f"cartpole/{name}/final_eval_return_se", final_se)
        result.metric(f"cartpole/{name}/env_steps", log.steps)
        result.metric(f"cartpole/{name}/train_seconds", log.train_seconds, "s", volatile=True)
        result.metric(f"cartpole/{name}/last100_train_return", log.moving_average(LAST_EPISODES))
        if not cfg.cartpole_solve:
            result.check(f"{name}: final greedy return after {log.steps} steps − {RANDOM_MULTIPLE} × random policy's, "
                         f"lower end of ± {INTERVAL_Z} standard errors", margin_over_random(final, final_se, random_mean, random_se),
                         reference=0.0, tolerance=0.0, source=f"{GYM_CARTPOLE}; random policy measured in this run", kind="at_least",
                         note=f"{final:.1f} ± {final_se:.1f} on {EVAL_EPISODES} fresh episodes vs random {random_mean:.1f} ± {random_se:.1f}")
            continue
        solved = log.solved_step is not None
        result.metric(f"cartpole/{name}/solved", float(solved))
        if solved:
            result.metric(f"cartpole/{name}/steps_to_solve", log.solved_step)
            result.metric(f"cartpole/{name}/seconds_to_solve", log.solved_seconds, "s", volatile=True)
        result.check(f"{name}: final greedy policy, mean over {EVAL_EPISODES} fresh episodes ≥ {CARTPOLE_SOLVED} (solved)", final,
                     reference=CARTPOLE_SOLVED, tolerance=0.0, source=GYM_CARTPOLE, kind="at_least",
                     note=f"{final:.1f} ± {final_se:.1f} (standard error); best periodic evaluation {max(log.eval_means):.1f}")
        if name in ZOO_BUDGET:
            budget = ZOO_BUDGET[name]
            result.check(f"{name}: env steps to solve within SB3-zoo's budget ({budget // 1000}k)",
                         log.solved_step if solved else float("inf"), reference=budget, tolerance=0.0, source=ZOO, kind="at_most")
    if cfg.cartpole_solve:
        summary = ", ".join(f"{n}: {int(l.solved_step):,} steps / {l.solved_seconds:.0f} s" if l.solved_step else
                            f"{n}: not solved in {l.steps:,} steps" for n, l in logs.items())
        result.note(f"CartPole-v1 steps and training wall time to a 100-episode greedy mean ≥ {CARTPOLE_SOLVED} "
                    f"(seed {cfg.seed}): {summary}.")
    _plot_learning(logs, random_mean, float(CARTPOLE_SOLVED), "CartPole-v1", out / "cartpole.png", result)


def margin_over_random(mean: float, se: float, random_mean: float, random_se: float,
                       multiple: float = RANDOM_MULTIPLE, z: float = INTERVAL_Z) -> float:
    """Lower end of a ± z-standard-error interval for mean − multiple × random_mean (independent episodes)."""
    return mean - multiple * random_mean - z * float(np.hypot(se, multiple * random_se))


def _plot_learning(logs, random_mean, threshold, env_id, path, result) -> None:
    fig, ax = plots.figure(1, 1, size=(6.4, 4))
    for name, log in logs.items():
        ax.plot(log.eval_steps, log.eval_means, marker="o", ms=3, label=f"{name} (greedy eval)")
    ax.axhline(threshold, ls="--", c="k", lw=1, label=f"solved ({threshold:g})")
    ax.axhline(random_mean, ls=":", c="grey", lw=1, label=f"random ({random_mean:.0f})")
    ax.set(xlabel="env steps", ylabel="mean return", title=env_id)
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, path))


# -- 3. LunarLander: PPO (full preset) ----------------------------------------------------------------
def _lunar_lander(result: LabResult, cfg: Config, out: Path) -> None:
    random_rng = np.random.default_rng(cfg.seed)  # the random policy's actions (4: nothing, left, main, right engine)
    random_mean = result.metric("lunar/random_policy_return",
                                evaluate(lambda o: random_rng.integers(0, 4, len(o)), "LunarLander-v3", EVAL_EPISODES,
                                         cfg.seed).mean())
    with progress.status("LunarLander-v3: PPO"):
        res = train_ppo("LunarLander-v3", cfg.lunar, cfg.seed)
    log = res.log
    # both policies on the same fresh episodes, seeded apart from training and from the periodic evaluations
    greedy, greedy_se = final_evaluation(res.act, "LunarLander-v3", EVAL_EPISODES, cfg.seed)
    result.metric("lunar/ppo/greedy_eval_return", greedy)
    torch.manual_seed(cfg.seed)  # the sampled policy's action draws
    sampled, sampled_se = final_evaluation(res.sample, "LunarLander-v3", EVAL_EPISODES, cfg.seed)
    result.metric("lunar/ppo/sampled_eval_return", sampled)
    result.metric("lunar/ppo/sampled_eval_return_se", sampled_se)
    result.metric("lunar/ppo/env_steps", log.steps)
    result.metric("lunar/ppo/train_seconds", log.train_seconds, "s", volatile=True)
    result.metric("lunar/ppo/last100_train_return", log.moving_average(LAST_EPISODES))
    result.check("LunarLander PPO return (sampled policy, fresh episodes) − random policy", sampled - random_mean, reference=200, tolerance=0.0,
                 source="gymnasium LunarLander-v3 (random ≈ −180 measured here); SB3-zoo PPO 242 ± 32 after 1M steps",
                 kind="at_least")
    result.note(f"LunarLander-v3 PPO after {log.steps:,} steps: mean over 100 fresh episodes {sampled:.0f} ± {sampled_se:.0f} "
                f"with sampled actions, {greedy:.0f} ± {greedy_se:.0f} greedy (random {random_mean:.0f}; 'solved' is 200; SB3-zoo PPO reports 242 ± 32 after 1M "
                f"steps, evaluated greedily).")
    _plot_learning({"ppo": log}, random_mean, float(LUNAR_SOLVED), "LunarLander-v3", out / "lunar_lander.png", result)
