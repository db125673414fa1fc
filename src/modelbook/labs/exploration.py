"""Exploration: the 10-armed testbed, UCB vs ε-greedy, UCB1's log regret, ε schedules, double learning (topic 35).

What this lab shows
  1. Sutton & Barto Figure 2.2 on the 10-armed testbed (2000 runs × 1000 steps, vectorised in numpy):
     greedy plateaus near an average reward of 1.0 with about a third optimal actions; ε = 0.1 reaches
     about 1.4 and 80% optimal by step 1000; ε = 0.01 learns more slowly. The ceiling E[max of 10 N(0,1)]
     = 1.5388 is computed exactly and matches the testbed's mean best arm.
  2. Figure 2.3: greedy with optimistic initial values (Q₀ = 5, α = 0.1) explores by disappointment and ends
     with more optimal actions than ε-greedy. Figure 2.4: UCB (c = 2) beats ε-greedy (ε = 0.1) after the
     first steps, with the spike at step 11 the book asks about (every arm tried once, then the best estimate
     is pulled by all runs at once).
  3. UCB1 on Bernoulli arms: regret grows like log n (a + b ln n fits with R² ≈ 1; the local log-log slope
     is far below 1), stays under Auer et al.'s Theorem 1 bound at every n, and its slope b sits between
     the Lai–Robbins lower-bound rate and the bound's 8 Σ 1/Δ; fixed-ε greedy's regret grows linearly.
  4. Exploration schedules in Q-learning on FrozenLake-v1 (4×4, slippery): pure greedy from Q = 0 hardly
     learns; constant, linearly and exponentially decaying ε, and optimistic initial values (greedy with
     Q₀ = 1) all find good policies, judged by the exact success probability of the greedy policy within
     the 100-step limit (optimum 0.74 by value iteration), and trade online return against final quality.
  5. Maximisation bias (S&B Example 6.7, Figure 6.5): Q-learning goes 'left' far more than the ε-greedy
     optimum of 5% early on; double Q-learning does not.
  6. Full preset: Double DQN vs DQN on CartPole, value estimates against the true discounted return of
     each net's greedy policy (CartPole is deterministic given its state, so one rollout is exact).
  Double learning fixes an estimation bias; it is not an exploration method (the source article lists it as one).

Differences from the references
  - Figure 2.2/2.4/6.5 values are read off the book's figures: shapes and approximate levels are checked
    with tolerances, the exact constants (1.5388, 0.74, 5%) tightly.
  - van Hasselt et al. (2016) measured overestimation on Atari over 200M frames; here CartPole for tens of
    thousands of steps, with γ = 0.95 so the values converge within the budget. The sign and size of the
    difference are reported as measured (see the note), not assumed.

Building blocks: modelbook/rl/{bandits,td,mdp,schedules,dqn,envs}.py
Cross-checks:    tests/rl/test_bandits.py, tests/rl/test_td.py, tests/rl/test_mdp.py, tests/labs/test_exploration.py
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.rl import schedules
from modelbook.rl.bandits import (
    expected_max_of_normals,
    lai_robbins_rate,
    last_decade_loglog_slope,
    log_fit,
    make_testbed,
    run_bernoulli_bandit,
    run_gaussian_bandit,
    ucb1_log_coefficient,
    ucb1_regret_bound,
)
from modelbook.rl.dqn import DQNConfig
from modelbook.rl.mdp import from_gymnasium, maximization_bias_mdp, policy_evaluation, value_iteration
from modelbook.rl.td import td_control

SB_22 = "Sutton & Barto, RL: An Introduction 2nd ed., Figure 2.2 (10-armed testbed; values read off the figure)"
SB_24 = "Sutton & Barto 2nd ed., Figure 2.4 and Exercise 2.8 (UCB c = 2 vs ε-greedy 0.1)"
SB_65 = "Sutton & Barto 2nd ed., Example 6.7 / Figure 6.5 (maximisation bias; ε-greedy optimum 5% left)"
AUER = "Auer, Cesa-Bianchi & Fischer 2002, Finite-time Analysis of the Multiarmed Bandit Problem, Theorem 1"
LAI_ROBBINS = "Lai & Robbins 1985 asymptotic lower bound; Auer et al. 2002 Theorem 1 (8 Σ 1/Δ)"
GYM_FROZEN = "gymnasium 1.4 FrozenLake-v1 registration: reward_threshold 0.70, comment 'optimum = 0.74'"
UCB1_MEANS = (0.8, 0.6, 0.5, 0.4, 0.2)  # Bernoulli arms with gaps 0.2 to 0.6 below the best

# S&B's settings, kept as in the book
N_ARMS = 10                              # the 10-armed testbed
TESTBED_AGENTS = {                       # Figures 2.2 (ε), 2.3 (optimistic, α = 0.1), 2.4 (UCB c = 2)
    "greedy": dict(epsilon=0.0), "ε=0.01": dict(epsilon=0.01), "ε=0.1": dict(epsilon=0.1),
    "UCB c=2": dict(ucb_c=2.0), "optimistic Q₀=5, greedy, α=0.1": dict(q0=5.0, alpha=0.1),
    "ε=0.1, α=0.1": dict(epsilon=0.1, alpha=0.1),
}
FINAL_STEPS = 100                        # "by step 1000": averages over the last 100 steps
UCB_FROM_STEP = 100                      # UCB vs ε-greedy compared over steps 100–1000, past the early transient
SPIKE_STEP = N_ARMS + 1                  # UCB's spike: every arm tried once, then all runs pull the best estimate
BIAS_ACTIONS = 10                        # Example 6.7: actions from B, each paying N(−0.1, 1)
BIAS_ALPHA, BIAS_EPSILON = 0.1, 0.1      # Example 6.7's step size and ε
EARLY_EPISODES = 50                      # "early on" in Figure 6.5: the first 50 episodes

# the lab's own choices
UCB1_EPSILON = 0.1                       # the fixed-ε greedy agent set against UCB1
FIT_FROM = 100                           # fit a + b ln n on n ≥ steps / 100, past the first round robin
FROZEN_HORIZON = 100                     # gymnasium's step limit for FrozenLake-v1 4×4, and 'success within it'
EPS_LINEAR_SPAN = 2                      # linearly decaying ε reaches its floor after E / 2 episodes
EPS_HALF_LIFE_SPAN = 10                  # exponentially decaying ε halves every E / 10 episodes
Q_PROBE_STATES = 512                     # replayed states on which Double DQN's Q is compared with the true value


@dataclass(frozen=True)
class Config:
    bandit_runs: int = 2000
    bandit_steps: int = 1000
    ucb1_runs: int = 200
    ucb1_steps: int = 100_000
    frozen_runs: int = 50
    frozen_episodes: int = 2000
    frozen_schedules: tuple[str, ...] = ("greedy", "constant 0.1", "linear 1→0.01", "exponential 1→0.01",
                                         "optimistic Q₀=1, greedy")
    frozen_gamma: float = 0.99
    """discount of the FrozenLake Q-learners (success is judged undiscounted, within the step limit)"""
    frozen_alpha: float = 0.1
    """step size of the FrozenLake Q-learners"""
    bias_runs: int = 10_000
    bias_episodes: int = 300
    ddqn: DQNConfig | None = DQNConfig(total_steps=20_000, gamma=0.95, train_freq=4, gradient_steps=2,
                                       target_update=100, learning_starts=1000, hidden=(128, 128), lr=1e-3,
                                       eps_fraction=0.2, eval_every=10**9, solve_threshold=None)
    """Double DQN vs DQN on CartPole; None skips it"""
    ddqn_seeds: int = 3
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(bandit_runs=500, ucb1_runs=100, ucb1_steps=10_000, frozen_runs=20, frozen_episodes=300,
                    frozen_schedules=("greedy", "optimistic Q₀=1, greedy"),
                    bias_runs=2000, bias_episodes=100, ddqn=None),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("exploration", cfg)
    rng = make_rng(cfg.seed)
    _testbed(result, cfg, rng, out)
    _ucb1_regret(result, cfg, rng, out)
    _frozen_lake_schedules(result, cfg, rng, out)
    _maximization_bias(result, cfg, rng, out)
    if cfg.ddqn is not None:
        _double_dqn(result, cfg, out)
    return result


# -- 1-2. the 10-armed testbed ------------------------------------------------------------------------
def _testbed(result: LabResult, cfg: Config, rng, out: Path) -> None:
    q_star = make_testbed(cfg.bandit_runs, N_ARMS, rng)
    runs = {name: run_gaussian_bandit(q_star, cfg.bandit_steps, rng, **kw)
            for name, kw in progress.track(list(TESTBED_AGENTS.items()), "10-armed testbed")}
    tail = slice(-FINAL_STEPS, None)
    for name, r in runs.items():
        key = {"UCB c=2": "ucb_c2", "optimistic Q₀=5, greedy, α=0.1": "optimistic",
               "ε=0.1, α=0.1": "eps_0.1_alpha_0.1"}.get(name, name.replace("ε=", "eps_"))
        result.metric(f"testbed/{key}/final_avg_reward", r.rewards[:, tail].mean())
        result.metric(f"testbed/{key}/final_optimal_fraction", r.optimal[:, tail].mean())
    v = result.value
    exact = result.metric("testbed/expected_max_exact", expected_max_of_normals(N_ARMS))
    sampled = result.metric("testbed/mean_best_arm", q_star.max(1).mean())
    se = q_star.max(1).std() / np.sqrt(cfg.bandit_runs)
    result.check("testbed mean of max q* vs exact E[max of 10 N(0,1)] (4 standard errors)", sampled, reference=exact, tolerance=4 * se,
                 source="exact integral ∫ x·10φ(x)Φ(x)⁹ dx = 1.5388")
    result.check("ε = 0.1: average reward by step 1000 ≈ 1.4", v("testbed/eps_0.1/final_avg_reward"), reference=1.4, tolerance=0.12, source=SB_22)
    result.check("ε = 0.1: optimal action by step 1000 ≈ 80%", v("testbed/eps_0.1/final_optimal_fraction"), reference=0.8, tolerance=0.06, source=SB_22)
    result.check("greedy: average reward plateaus ≈ 1.0", v("testbed/greedy/final_avg_reward"), reference=1.0, tolerance=0.12, source=SB_22)
    result.check("greedy: optimal action ≈ one third", v("testbed/greedy/final_optimal_fraction"), reference=1 / 3, tolerance=0.08, source=SB_22)
    result.check("ε = 0.01 still below ε = 0.1 in optimal actions at step 1000 (difference)",
                 v("testbed/eps_0.1/final_optimal_fraction") - v("testbed/eps_0.01/final_optimal_fraction"),
                 reference=0.05, tolerance=0.0, source=SB_22, kind="at_least")
    ucb_gain = result.metric("testbed/ucb_minus_eps01_reward_steps_100_1000",
                             runs["UCB c=2"].rewards[:, UCB_FROM_STEP - 1:].mean()
                             - runs["ε=0.1"].rewards[:, UCB_FROM_STEP - 1:].mean())
    result.check("UCB c=2 earns more than ε-greedy 0.1 over steps 100–1000 (difference)", ucb_gain, reference=0.05, tolerance=0.0,
                 source=SB_24, kind="at_least")
    result.check("optimistic greedy (Q₀ = 5) vs realistic ε-greedy (Q₀ = 0, ε = 0.1), both α = 0.1: optimal actions "
                 "at step 1000 (difference)", v("testbed/optimistic/final_optimal_fraction")
                 - v("testbed/eps_0.1_alpha_0.1/final_optimal_fraction"), reference=0.03, tolerance=0.0,
                 source="Sutton & Barto 2nd ed., Figure 2.3 (optimistic initial values)", kind="at_least")
    ucb = runs["UCB c=2"].rewards.mean(0)
    spike = result.metric("testbed/ucb_step11_spike", ucb[SPIKE_STEP - 1] - ucb[SPIKE_STEP:20].mean())
    result.check("UCB spike at step 11: reward at step 11 above steps 12–20 (difference)", spike, reference=0.1, tolerance=0.0, source=SB_24,
                 kind="at_least")

    fig, (ax1, ax2) = plots.figure(1, 2, size=(11, 3.8))
    for name, r in runs.items():
        ax1.plot(np.arange(1, cfg.bandit_steps + 1), r.rewards.mean(0), lw=0.8, label=name)
        ax2.plot(np.arange(1, cfg.bandit_steps + 1), r.optimal.mean(0), lw=0.8, label=name)
    ax1.axhline(exact, ls=":", c="k", lw=1, label="E[max q*] = 1.539")
    ax1.set(xlabel="step", ylabel="average reward", title=f"10-armed testbed, {cfg.bandit_runs} runs (S&B Fig 2.2/2.4)")
    ax2.set(xlabel="step", ylabel="% optimal action", ylim=(0, 1))
    ax1.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "testbed.png"))


# -- 3. UCB1's logarithmic regret ---------------------------------------------------------------------
def _ucb1_regret(result: LabResult, cfg: Config, rng, out: Path) -> None:
    means = np.array(UCB1_MEANS)
    n = np.arange(1, cfg.ucb1_steps + 1)
    ucb = run_bernoulli_bandit(means, cfg.ucb1_runs, cfg.ucb1_steps, rng, policy="ucb1")
    eps = run_bernoulli_bandit(means, cfg.ucb1_runs, cfg.ucb1_steps, rng, policy="epsilon_greedy", epsilon=UCB1_EPSILON)
    bound = ucb1_regret_bound(means, n)
    fit = n >= cfg.ucb1_steps // FIT_FROM
    b, a, r2 = log_fit(n[fit], ucb[fit])
    ucb_exp, eps_exp = last_decade_loglog_slope(ucb), last_decade_loglog_slope(eps)
    result.metric("ucb1/regret_final", ucb[-1])
    result.metric("ucb1/bound_final", bound[-1])
    result.metric("ucb1/max_regret_over_bound", (ucb / bound).max())
    result.metric("ucb1/log_fit_slope", b)
    result.metric("ucb1/log_fit_intercept", a)
    result.metric("ucb1/log_fit_r2", r2)
    result.metric("ucb1/local_loglog_slope_last_decade", ucb_exp)
    result.metric("ucb1/eps_greedy_local_loglog_slope_last_decade", eps_exp)
    result.metric("ucb1/eps_greedy_regret_final", eps[-1])
    lr, upper = lai_robbins_rate(means), ucb1_log_coefficient(means)
    result.metric("ucb1/lai_robbins_rate", lr)
    result.check("UCB1 regret / Theorem 1 bound, max over n", (ucb / bound).max(), reference=1.0, tolerance=0.0, source=AUER, kind="at_most")
    result.check("UCB1 regret ≈ a + b ln n: R² of the fit", r2, reference=0.99, tolerance=0.0, source=AUER, kind="at_least")
    result.check("UCB1 local log-log slope over the last decade (1 = linear)", ucb_exp, reference=0.4, tolerance=0.0, source=AUER, kind="at_most")
    result.check("fixed ε = 0.1 greedy: local log-log slope (≈ 1: linear regret; early losses pull it below 1 at small n)",
                 eps_exp, reference=0.7, tolerance=0.0,
                 source="ε-greedy with fixed ε pulls each bad arm ε/K of the time: regret ∝ n", kind="at_least")
    result.check("UCB1 slope b within [Lai–Robbins rate, 8 Σ 1/Δ] (midpoint ± half-width)", b, reference=(lr + upper) / 2,
                 tolerance=(upper - lr) / 2, source=LAI_ROBBINS)

    fig, ax = plots.figure(1, 1, size=(6.4, 4))
    ax.plot(n, ucb, label="UCB1 (measured)")
    ax.plot(n, eps, label="ε-greedy 0.1 (measured)")
    ax.plot(n, bound, ls="--", label="Auer et al. Thm 1 bound")
    ax.plot(n[fit], a + b * np.log(n[fit]), ls=":", c="k", label=f"{a:.0f} + {b:.1f} ln n")
    ax.set(xscale="log", yscale="log", xlabel="pulls n", ylabel="cumulative regret",
           title=f"Bernoulli arms {UCB1_MEANS}, {cfg.ucb1_runs} runs")
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "ucb1_regret.png"))


# -- 4. exploration schedules in Q-learning -----------------------------------------------------------
def _frozen_lake_schedules(result: LabResult, cfg: Config, rng, out: Path) -> None:
    import gymnasium as gym

    mdp = from_gymnasium(gym.make("FrozenLake-v1"))
    E, gamma, alpha, horizon = cfg.frozen_episodes, cfg.frozen_gamma, cfg.frozen_alpha, FROZEN_HORIZON
    optimum_pi = np.eye(mdp.n_actions)[value_iteration(mdp, gamma).argmax(1)]
    optimum = result.metric("frozen/optimal_success", policy_evaluation(mdp, optimum_pi, 1.0, horizon)[0])
    result.check("FrozenLake 4×4 optimal success within 100 steps (value iteration)", optimum, reference=0.74, tolerance=0.005, source=GYM_FROZEN)
    t = np.arange(E)
    settings = {
        "greedy": (0.0, 0.0), "constant 0.1": (0.1, 0.0),
        "linear 1→0.01": (schedules.linear(1.0, 0.01, E / EPS_LINEAR_SPAN)(t), 0.0),
        "exponential 1→0.01": (schedules.exponential(1.0, 0.01, E / EPS_HALF_LIFE_SPAN)(t), 0.0),
        "optimistic Q₀=1, greedy": (0.0, 1.0),
    }
    curves = {}
    for name in progress.track(cfg.frozen_schedules, "FrozenLake: ε schedules"):
        epsilon, q0 = settings[name]
        runs = td_control(mdp, "q_learning", cfg.frozen_runs, E, alpha, gamma, epsilon, rng, q_init=q0, max_steps=horizon)
        success = [policy_evaluation(mdp, np.eye(mdp.n_actions)[runs.Q[i].argmax(1)], 1.0, horizon)[0]
                   for i in range(cfg.frozen_runs)]
        key = {"greedy": "greedy", "constant 0.1": "const_0.1", "linear 1→0.01": "linear",
               "exponential 1→0.01": "exponential", "optimistic Q₀=1, greedy": "optimistic"}[name]
        result.metric(f"frozen/{key}/greedy_policy_success", np.mean(success))
        result.metric(f"frozen/{key}/online_success", runs.returns.mean())
        curves[name] = runs.returns.mean(0)
    v = result.value
    result.check("pure greedy from Q = 0 barely learns (exact success of its greedy policy)",
                 v("frozen/greedy/greedy_policy_success"), reference=0.25, tolerance=0.0, source=GYM_FROZEN + " (optimum 0.74)", kind="at_most")
    for key, label in (("linear", "linearly decaying ε"), ("optimistic", "optimistic Q₀ = 1")):
        if f"frozen/{key}/greedy_policy_success" not in {m.name for m in result.metrics}:
            continue
        result.check(f"{label}: success of the greedy policy − pure greedy's", v(f"frozen/{key}/greedy_policy_success")
                     - v("frozen/greedy/greedy_policy_success"), reference=0.25, tolerance=0.0, source=GYM_FROZEN, kind="at_least")

    fig, ax = plots.figure(1, 1, size=(6.4, 4))
    w = max(E // 50, 1)
    for name, c in curves.items():
        ax.plot(np.convolve(c, np.ones(w) / w, mode="valid"), label=name)
    ax.axhline(optimum, ls="--", c="k", lw=1, label=f"optimum {optimum:.2f}")
    ax.set(xlabel="episode", ylabel="online success rate", title="Q-learning on FrozenLake-v1: exploration schedules")
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "frozenlake_schedules.png"))


# -- 5. maximisation bias -----------------------------------------------------------------------------
def _maximization_bias(result: LabResult, cfg: Config, rng, out: Path) -> None:
    mdp = maximization_bias_mdp(BIAS_ACTIONS)
    left = {}
    for method in ("q_learning", "double_q"):
        runs = td_control(mdp, method, cfg.bias_runs, cfg.bias_episodes, BIAS_ALPHA, 1.0, BIAS_EPSILON, rng)
        left[method] = (runs.first_actions == 1).mean(0)             # A's action 1 = left
    early = slice(0, min(EARLY_EPISODES, cfg.bias_episodes))
    late = slice(cfg.bias_episodes - min(EARLY_EPISODES, cfg.bias_episodes // 2), None)  # as many at the end
    for method, curve in left.items():
        result.metric(f"max_bias/{method}/peak_left", curve.max())
        result.metric(f"max_bias/{method}/left_first50", curve[early].mean())
        result.metric(f"max_bias/{method}/left_last", curve[late].mean())
    v = result.value
    result.check("Q-learning: peak % left ≫ 50% start and 5% optimum", v("max_bias/q_learning/peak_left"), reference=0.6, tolerance=0.0,
                 source=SB_65, kind="at_least")
    result.check("double Q: peak % left stays at the 50% random start (no bias upward)", v("max_bias/double_q/peak_left"),
                 reference=0.55, tolerance=0.0, source=SB_65, kind="at_most")
    result.check("Q-learning − double Q, % left over the first 50 episodes", v("max_bias/q_learning/left_first50")
                 - v("max_bias/double_q/left_first50"), reference=0.2, tolerance=0.0, source=SB_65, kind="at_least")
    fig, ax = plots.figure(1, 1, size=(6.4, 4))
    for method, curve in left.items():
        ax.plot(np.arange(1, len(curve) + 1), curve, label=method.replace("_", " "))
    ax.axhline(0.05, ls="--", c="k", lw=1, label="optimal (ε-greedy) 5%")
    ax.set(xlabel="episode", ylabel="% left actions from A", ylim=(0, 1),
           title=f"Maximisation bias, {cfg.bias_runs} runs (S&B Fig 6.5)")
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "maximization_bias.png"))


# -- 6. Double DQN vs DQN overestimation on CartPole (full preset) ------------------------------------
def _double_dqn(result: LabResult, cfg: Config, out: Path) -> None:
    import torch

    from modelbook.rl.dqn import train_dqn
    from modelbook.rl.envs import cartpole_discounted_values

    gaps = {"dqn": [], "double_dqn": []}
    estimates = {"dqn": [], "double_dqn": []}
    above = {"dqn": [], "double_dqn": []}
    ceiling = 1 / (1 - cfg.ddqn.gamma)  # reward ≤ 1 per step: no true value can exceed Σ γ^t
    for i in progress.track(range(cfg.ddqn_seeds), "CartPole: DQN vs Double DQN"):
        seed = cfg.seed + i  # + i: one independent training seed per repetition, the same for DQN and Double DQN
        for name, double in (("dqn", False), ("double_dqn", True)):
            res = train_dqn("CartPole-v1", replace(cfg.ddqn, double=double), seed)
            states = res.buffer.obs[np.random.default_rng(seed).integers(0, res.buffer.size, Q_PROBE_STATES)]
            with torch.no_grad():
                q = res.q_net(torch.as_tensor(states)).max(-1).values.numpy()
            true = cartpole_discounted_values(res.act, states, cfg.ddqn.gamma)
            gaps[name].append(float((q - true).mean()))
            above[name].append(float((q > ceiling).mean()))
            estimates[name].append((float(q.mean()), float(true.mean())))
    for name in gaps:
        result.metric(f"ddqn/{name}/mean_overestimation", np.mean(gaps[name]))
        result.metric(f"ddqn/{name}/mean_q_estimate", np.mean([e[0] for e in estimates[name]]))
        result.metric(f"ddqn/{name}/mean_true_value", np.mean([e[1] for e in estimates[name]]))
        result.metric(f"ddqn/{name}/fraction_above_ceiling", np.mean(above[name]))
    diff = result.metric("ddqn/overestimation_dqn_minus_double", np.mean(gaps["dqn"]) - np.mean(gaps["double_dqn"]))
    result.note(f"CartPole (γ = {cfg.ddqn.gamma}, {cfg.ddqn.total_steps:,} steps, {cfg.ddqn_seeds} seeds): mean Q − true "
                f"value on replayed states, DQN {np.mean(gaps['dqn']):+.2f}, Double DQN {np.mean(gaps['double_dqn']):+.2f} "
                f"(per seed: DQN {np.round(gaps['dqn'], 2).tolist()}, Double {np.round(gaps['double_dqn'], 2).tolist()}); "
                f"states whose max Q exceeds the 1/(1 − γ) = {ceiling:.0f} ceiling no true value can pass: DQN "
                f"{np.mean(above['dqn']):.0%}, Double DQN {np.mean(above['double_dqn']):.0%}.")
    result.check("DQN overestimates more than Double DQN (mean Q − true, difference)", diff, reference=0.0, tolerance=0.0,
                 source="van Hasselt, Guez & Silver 2016, Deep RL with Double Q-learning, Fig. 3", kind="at_least")
