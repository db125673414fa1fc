"""MARL: MADDPG vs independent learners, communication, competition, predator-prey, parallel rollouts on mpe2 (topic 36).

What this lab shows
  1. Cooperative communication (mpe2 simple_speaker_listener_v4): a static speaker sees the goal's colour,
     a listener moves. MADDPG (centralised critics, decentralised actors, from scratch) learns from a random
     start (quick preset: 1,000 episodes), beside an independent-DDPG run paired with it (same initial weights,
     worlds, noise and minibatches). MADDPG's premise, measured: the speaker's centralised critic explains the
     speaker's reward (which depends on where the listener is) far better than the independent one, by the
     Bellman residual on fresh episodes. Full preset: with the channel, the listener ends much closer to the goal
     than with the channel cut (the speaker's utterance zeroed in its observation), and independent DDPG
     learners do not learn to communicate (Lowe et al. 2017, §5).
  2. Full preset: cooperative navigation (simple_spread_v3, 3 agents, 3 landmarks, 25 steps): MADDPG vs
     independent DDPG vs a random policy: return, coverage (Σ over landmarks of the nearest agent's
     distance, averaged over the episode), landmarks occupied at the end, collisions per episode.
  3. Competition on simple_adversary_v3 (physical deception): good agents and the adversary trained with MADDPG
     or DDPG against each other, three pairings side by side. Quick and full: the adversary, which does not see
     the goal, learns to close on it. Full preset: the good agents reach the goal, and MADDPG good agents against
     a DDPG adversary do better than the reverse.
  4. Parallel rollouts: the same seeded episodes on mpe2 in 1, 2, (4) worker processes: identical results,
     samples/s vs workers (volatile; this machine has 2 cores, so more than 2 workers cannot help).
  5. The batched particle worlds used for training and evaluation (marl/mpe_batch.py) equal mpe2 step for
     step, re-checked here (all four scenarios), and a trained policy scores the same when replayed on mpe2's
     own env.
  6. Predator-prey (simple_tag_v3: 3 slower predators, 1 faster prey, 2 obstacles): MADDPG predators and
     independent DDPG predators against a scripted prey that flees (mpe_batch.flee_action); captures per episode
     (predator-prey contacts, simple_tag's +10) over random predators' on the same fresh evaluation episodes. The
     full preset trains 3 paired seeds of each and reports MADDPG − independent with a one-sided lower bound
     (measured, seed 0: independent predators well ahead, 23× random's captures against 5.5× for MADDPG). The
     quick preset's one short run holds only the independent team to the capture ratio and reports MADDPG's,
     whose predators had not learned yet on one seed in 17.

Differences from the paper
  - Lowe et al. train for 25,000 episodes with batch 1024; the full preset trains 4,000–6,000 episodes with
    batch 256 (one update per 25 transitions), the quick preset 1,000 (speaker-listener) and 500 (tag, adversary,
    with 32-unit layers and batch 64). Trends, not the paper's numbers: its cooperative-navigation table is not
    checked (low confidence in the values; a different scale).
  - Continuous actions in [0, 1]^d (mpe2's continuous_actions=True) with Gaussian exploration noise, instead
    of the paper's Gumbel-softmax over discrete actions.
  - Predator-prey: the paper trains the prey too (MADDPG or DDPG); here the prey is scripted (it flees at a tenth
    of its thrust), so the predators' captures are measured against a fixed opponent, and a fast learned prey at
    this scale leaves too few captures to learn from (3 runs at full thrust: 1.1–1.3× random's captures).
  - Training and the 1,000-episode evaluations step the batched re-implementation of mpe2, which this run
    re-checks against mpe2; the parallel rollouts and the replay check run on mpe2 itself.

Design notes
  - Training runs on a batched numpy re-implementation of mpe2's particle worlds (marl/mpe_batch.py): mpe2 steps
    one world in Python at ≈ 0.4 ms, too slow for MADDPG's thousands of episodes on a CPU. The batched worlds
    equal mpe2 bit for bit on positions (tests/marl/test_mpe_batch.py); this lab re-checks that on every run and
    replays a trained policy on mpe2 itself, and the parallel-rollout part runs mpe2 in worker processes. MADDPG's
    per-agent networks are batched as one "ensemble" matmul (independent weights), 1.7× faster than a loop over
    agents; runs that are compared (MADDPG and DDPG, several seeds) train as members of one ensemble too
    (maddpg.train_runs), since an update of small networks on a CPU costs ~3 ms of overhead whatever their number.

Building blocks: modelbook/marl/{mpe_batch,maddpg,rollouts}.py
Cross-checks:    tests/marl/test_mpe_batch.py (equal to mpe2), tests/marl/test_maddpg.py, tests/labs/test_marl.py
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.evaluation.uncertainty import paired_lower_bound
from modelbook.marl.maddpg import MADDPGConfig, bellman_residual, train, train_runs
from modelbook.marl.mpe_batch import SCENARIOS, BatchedMPE
from modelbook.marl.rollouts import EpisodeStats, batched_episodes, make_env, parallel_episodes, run_episodes

LOWE = "Lowe et al. 2017, Multi-Agent Actor-Critic for Mixed Cooperative-Competitive Environments"
MPE2 = "mpe2 1.1.1 (simple_spread_v3, simple_speaker_listener_v4, simple_adversary_v3, simple_tag_v3)"
EVAL_SEED = 1_000_000  # evaluation episodes use seeds the training never sees
EPISODE_STEPS = 25     # mpe2's max_cycles: steps per episode, for the samples/s of the rollouts
# The equality check replays one fixed episode per scenario: it tests the physics, not a seed, so its seeds are
# constants, not cfg.seed: mpe2's reset seed, and the stream of the random actions both worlds receive.
EQUALITY_RESET_SEED, EQUALITY_ACTION_SEED = 7, 0
# The quick preset trains 1,000 episodes: at 700 the listener's distance ratio to a random policy's spread from 0.55 to
# 0.71 over seeds 0, 1234567, 1..8 and reached 0.83 on another seed; at 1,000 it spread from 0.51 to 0.60.
QUICK_EPISODES = 1000
# The adversary's distance to the goal over a random policy's, at most: quick preset 0.43 to 0.78 over seeds 0, 11-15 and
# 1234567 (a random adversary: 1.00 ± 0.03), so 0.85 holds with margin and still needs a trained adversary.
ADVERSARY_DISTANCE_RATIO = 0.85
# The quick preset's tag and adversary runs: 500 episodes of 50 worlds, 400 updates of batch 64 with 32-unit layers,
# which is what fits the quick preset's CPU budget beside the speaker-listener runs (each update costs ~4 ms here).
# At the quick preset's one seed and 500 episodes MADDPG's predators (whose critics see every agent) sometimes have not
# learned yet: seed 2035210155 left them at 0.84x random where the independent predators reached 2.49x (17 seeds
# measured: independent 1.47-3.22, MADDPG below 1.25 once). The quick preset holds the independent team and reports
# MADDPG's ratio; the full preset (3 seeds, 4,000 episodes) holds both.
QUICK_TAG_CHECKED = ("independent",)
QUICK_SMALL = dict(n_episodes=500, n_envs=50, batch_size=64, hidden=32, transitions_per_update=25, learning_starts=100)


@dataclass(frozen=True)
class Config:
    speaker_listener: MADDPGConfig = MADDPGConfig(scenario="speaker_listener", n_episodes=4000, batch_size=256,
                                                  transitions_per_update=25, learning_starts=500)
    speaker_listener_variants: tuple[str, ...] = ("maddpg", "maddpg_no_channel", "independent")
    """maddpg and independent train side by side, paired (same seed, worlds, noise, minibatches)"""
    residual_episodes: int = 500
    """fresh episodes on which each speaker-listener critic's Bellman residual is measured"""
    tag: MADDPGConfig | None = MADDPGConfig(scenario="tag", n_episodes=4000, batch_size=256, transitions_per_update=25,
                                            learning_starts=500, prey_thrust=0.1)
    """predator-prey (simple_tag) against a scripted fleeing prey: MADDPG vs independent predators; None skips it"""
    tag_seeds: int = 3
    """paired training seeds (cfg.seed, cfg.seed + 1, ...) per kind of predator critic"""
    tag_capture_ratio: float = 1.25
    """captures per episode of trained predators over random predators' must reach this (quick preset: 1.47 to 3.22 over
    seeds 0, 11-15 and 1234567, MADDPG and independent; random predators against each other: 1.00 ± 0.1)"""
    tag_checked: tuple[str, ...] = ("maddpg", "independent")
    """predator teams whose capture ratio is held to tag_capture_ratio (the others are reported)"""
    tag_eval_episodes: int = 4000
    """evaluation episodes per predator team: captures are rare and bursty (random predators: ~0.1 per episode)"""
    spread: MADDPGConfig | None = MADDPGConfig(scenario="spread", n_episodes=6000, batch_size=256,
                                               transitions_per_update=25, learning_starts=500)
    """MADDPG vs independent learners on simple_spread; None skips it"""
    adversary: MADDPGConfig | None = MADDPGConfig(scenario="adversary", n_episodes=4000, batch_size=256,
                                                  transitions_per_update=25, learning_starts=500)
    """None skips the competitive experiment"""
    competitive_outcomes: bool = True
    """check the good agents' distance and the cross-play returns (at the quick preset's 500 episodes the good agents
    have not learned yet: their distance ratio to random's spread from 0.58 to 1.46 over seeds 0-5 and the cross-play
    return difference from −3.9 to +2.7; only the adversary's distance is checked there)"""
    eval_episodes: int = 1000
    """evaluation episodes per trained policy, on the batched worlds (equal to mpe2, checked in the run)"""
    mpe2_episodes: int = 100
    """episodes of the MADDPG speaker-listener policy replayed on mpe2 itself, to confirm the batched evaluation"""
    workers: tuple[int, ...] = (1, 2, 4)
    rollout_episodes: int = 400
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(speaker_listener=MADDPGConfig(scenario="speaker_listener", n_episodes=QUICK_EPISODES, batch_size=128,
                                                  transitions_per_update=25, learning_starts=100),
                    speaker_listener_variants=("maddpg", "independent"), spread=None,
                    tag=MADDPGConfig(scenario="tag", prey_thrust=0.1, **QUICK_SMALL), tag_seeds=1, tag_checked=QUICK_TAG_CHECKED,
                    adversary=MADDPGConfig(scenario="adversary", **QUICK_SMALL), competitive_outcomes=False,
                    mpe2_episodes=24, workers=(1, 2), rollout_episodes=16, residual_episodes=300),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("marl", cfg)
    _batched_equals_mpe2(result)
    params = _speaker_listener(result, cfg, out)
    if cfg.spread is not None:
        _spread(result, cfg, out)
    if cfg.tag is not None:
        _tag(result, cfg, out)
    if cfg.adversary is not None:
        _adversary(result, cfg)
    _parallel_rollouts(result, cfg, params)
    return result


def _evaluate(cfg: Config, scenario: str, params, comm_ablation: bool = False, prey_thrust: float | None = None) -> EpisodeStats:
    episodes = cfg.tag_eval_episodes if scenario == "tag" else cfg.eval_episodes
    return batched_episodes(scenario, params, episodes, EVAL_SEED + cfg.seed, comm_ablation, prey_thrust)


# -- 5. the training worlds equal mpe2 ---------------------------------------------------------------
def _batched_equals_mpe2(result: LabResult) -> None:
    """Load mpe2's state into the batched worlds, step both with the same random actions for one episode."""
    worst = 0.0
    rng = np.random.default_rng(EQUALITY_ACTION_SEED)
    for scenario in SCENARIOS:
        env = make_env(scenario)
        obs, _ = env.reset(seed=EQUALITY_RESET_SEED)
        ours = BatchedMPE(scenario, 1, rng)   # its own random reset draws from rng too, then mpe2's state replaces it
        ours.load_mpe2(env.unwrapped.world)
        while env.agents:
            acts = [rng.random((1, env.action_space(n).shape[0])).astype(np.float32) for n in ours.names]
            obs, rew, _, _, _ = env.step({n: a[0] for n, a in zip(ours.names, acts)})
            our_obs, our_rew, _ = ours.step(acts)
            worst = max(worst, *(np.abs(our_obs[i][0] - obs[n]).max() for i, n in enumerate(ours.names)),
                        *(abs(our_rew[0, i] - rew[n]) for i, n in enumerate(ours.names)))
        env.close()
    result.metric("batched_vs_mpe2/max_abs_diff", worst)
    result.check("batched training worlds vs mpe2: max |Δ| of observations and rewards over an episode", worst, reference=0.0,
                 tolerance=1e-5, source=MPE2 + ", same state and actions", kind="at_most")


def _summary(result: LabResult, prefix: str, stats: EpisodeStats) -> None:
    result.metric(f"{prefix}/return_per_agent", stats.returns.mean())
    result.metric(f"{prefix}/coverage_distance", stats.coverage.mean())
    result.metric(f"{prefix}/occupied_landmarks", stats.occupied.mean())
    result.metric(f"{prefix}/collisions_per_episode", stats.collisions.mean())


# -- 1. cooperative navigation: MADDPG vs independent learners ------------------------------------------
def _spread(result: LabResult, cfg: Config, out: Path) -> None:
    random = _evaluate(cfg, "spread", None)
    _summary(result, "spread/random", random)
    curves = {}
    progress.status("simple_spread: MADDPG and independent DDPG, trained side by side")
    runs = train_runs(cfg.spread, [cfg.seed], [True, False])
    for name, (res,) in zip(("maddpg", "independent"), runs):
        _summary(result, f"spread/{name}", _evaluate(cfg, "spread", res.actor_params()))
        result.metric(f"spread/{name}/updates", res.updates)
        curves[name] = res.episode_returns.mean(1)
    v = result.value
    for name in ("maddpg", "independent"):
        result.check(f"spread, {name}: return per agent − random policy's", v(f"spread/{name}/return_per_agent")
                     - v("spread/random/return_per_agent"), reference=5.0, tolerance=0.0, source=f"{MPE2}; random policy measured here", kind="at_least")
        result.check(f"spread, {name}: coverage distance / random policy's", v(f"spread/{name}/coverage_distance")
                     / v("spread/random/coverage_distance"), reference=0.7, tolerance=0.0,
                     source=f"{LOWE} (cooperative navigation); random policy measured here", kind="at_most")
    _spread_note(result, cfg)
    _plot_curves(curves, v("spread/random/return_per_agent"), "simple_spread: training return per agent",
                 out / "spread_training.png", result)


def _spread_note(result: LabResult, cfg: Config) -> None:
    v = result.value
    diff = v("spread/maddpg/return_per_agent") - v("spread/independent/return_per_agent")
    result.note(f"simple_spread after {cfg.spread.n_episodes:,} training episodes: MADDPG return per agent "
                f"{v('spread/maddpg/return_per_agent'):.2f}, independent DDPG {v('spread/independent/return_per_agent'):.2f} "
                f"(difference {diff:+.2f}), random {v('spread/random/return_per_agent'):.2f}; collisions per episode "
                f"{v('spread/maddpg/collisions_per_episode'):.2f} / {v('spread/independent/collisions_per_episode'):.2f} / "
                f"{v('spread/random/collisions_per_episode'):.2f}. Lowe et al. report MADDPG ahead of DDPG here; benchmark "
                f"studies (Papoudakis et al. 2021) find independent learners competitive on this task.")


def _plot_curves(curves: dict, random_level: float, title: str, path: Path, result: LabResult,
                 ylabel: str = "return per agent") -> None:
    fig, ax = plots.figure(1, 1, size=(6.4, 4))
    for name, c in curves.items():
        w = max(len(c) // 40, 1)
        ax.plot(np.convolve(c, np.ones(w) / w, mode="valid"), label=name)
    ax.axhline(random_level, ls=":", c="grey", label=f"random ({random_level:.2g})")
    ax.set(xlabel="training episode", ylabel=ylabel, title=title)
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, path))


# -- 2. speaker-listener: the value of the channel --------------------------------------------------------
def _speaker_listener(result: LabResult, cfg: Config, out: Path):
    """Returns the MADDPG actors' weights (for the parallel rollouts)."""
    random = _evaluate(cfg, "speaker_listener", None)
    result.metric("speaker_listener/random/return", random.returns[:, 0].mean())
    result.metric("speaker_listener/random/listener_goal_distance", random.goal_distance[:, 1].mean())
    curves, params, trained_stats = {}, None, {}
    paired = [name for name in ("maddpg", "independent") if name in cfg.speaker_listener_variants]
    progress.status(f"speaker-listener: {' and '.join(paired)} side by side")
    runs = dict(zip(paired, train_runs(cfg.speaker_listener, [cfg.seed], [name == "maddpg" for name in paired])))
    for name in cfg.speaker_listener_variants:
        cut = name == "maddpg_no_channel"
        res = train(replace(cfg.speaker_listener, comm_ablation=True), cfg.seed) if cut else runs[name][0]
        stats = _evaluate(cfg, "speaker_listener", res.actor_params(), comm_ablation=cut)
        result.metric(f"speaker_listener/{name}/return", stats.returns[:, 0].mean())
        result.metric(f"speaker_listener/{name}/listener_goal_distance", stats.goal_distance[:, 1].mean())
        trained_stats[name] = stats
        curves[name] = res.episode_returns[:, 0]
        if name == "maddpg":
            params = res.actor_params()
    v = result.value
    result.check("speaker-listener, MADDPG: return − random policy's", v("speaker_listener/maddpg/return")
                 - v("speaker_listener/random/return"), reference=8.0, tolerance=0.0, source=f"{MPE2}; random policy measured here", kind="at_least")
    result.check("speaker-listener, MADDPG: listener's final distance to the goal / random policy's",
                 listener_distance_ratio(trained_stats["maddpg"], random), reference=0.8, tolerance=0.0, source=f"{MPE2}; random policy measured here", kind="at_most")
    # the same policy on mpe2 itself: its mean return must agree with the batched evaluation
    # one mpe2 seed per episode, counted up from the batched evaluation's seed: other starting states, same policy
    seeds = list(range(EVAL_SEED + cfg.seed, EVAL_SEED + cfg.seed + cfg.mpe2_episodes))
    on_mpe2 = run_episodes("speaker_listener", params, seeds).returns[:, 0]
    result.metric("speaker_listener/maddpg/mpe2_return", on_mpe2.mean())
    se = on_mpe2.std() / np.sqrt(len(on_mpe2))  # the batched mean (1000 episodes) is far more precise
    result.check("speaker-listener, MADDPG: return on mpe2 itself vs on the batched worlds (4 standard errors)",
                 on_mpe2.mean(), reference=v("speaker_listener/maddpg/return"), tolerance=4 * se, source=MPE2 + ", same policy")
    if "independent" in runs:
        _critic_residuals(result, cfg, runs["maddpg"][0], runs["independent"][0])
    if "maddpg_no_channel" in curves and "independent" in curves:
        with_c = v("speaker_listener/maddpg/listener_goal_distance")
        without = v("speaker_listener/maddpg_no_channel/listener_goal_distance")
        result.check("speaker-listener: listener's final distance to the goal, with / without the channel (ratio)",
                     with_c / without, reference=0.7, tolerance=0.0, source=f"{LOWE}, cooperative communication", kind="at_most")
        result.check("speaker-listener: independent DDPG's distance / MADDPG's (DDPG does not learn to communicate)",
                     v("speaker_listener/independent/listener_goal_distance") / with_c, reference=1.4, tolerance=0.0,
                     source=f"{LOWE}, §5: DDPG fails to learn the speaker's policy", kind="at_least")
    _plot_curves(curves, v("speaker_listener/random/return"), "speaker-listener: training return",
                 out / "speaker_listener.png", result)
    return params


def listener_distance_ratio(stats: EpisodeStats, random: EpisodeStats) -> float:
    """The listener's mean final distance to its goal, over a random policy's on the same evaluation episodes."""
    return float(stats.goal_distance[:, 1].mean() / random.goal_distance[:, 1].mean())


def _critic_residuals(result: LabResult, cfg: Config, maddpg, independent) -> None:
    """MADDPG's premise, measured: a critic that sees every agent explains its agent's rewards better than one that
    sees only its own agent. The two runs trained side by side from the same weights, worlds, noise and minibatches."""
    for name, res in (("maddpg", maddpg), ("independent", independent)):
        res_i = critic_residuals(cfg, res)
        result.metric(f"speaker_listener/{name}/critic_residual_speaker", res_i[0])
        result.metric(f"speaker_listener/{name}/critic_residual_listener", res_i[1])
    v = result.value
    result.check("speaker-listener: the speaker's critic's Bellman residual, independent DDPG / MADDPG (paired runs)",
                 v("speaker_listener/independent/critic_residual_speaker") / v("speaker_listener/maddpg/critic_residual_speaker"),
                 reference=1.2, tolerance=0.0, kind="at_least",
                 source=f"{LOWE}, §4: the centralised critic conditions on every agent's observation and action "
                        "(the speaker's reward depends on where the listener is, which only a centralised critic sees)")


def critic_residuals(cfg: Config, res) -> np.ndarray:
    """The speaker's and the listener's critic's mean squared Bellman residual on fresh speaker-listener episodes."""
    seed = EVAL_SEED + cfg.seed  # fresh worlds, unseen by training (the evaluation episodes' stream)
    return bellman_residual(res.agents, res.run, "speaker_listener", cfg.residual_episodes, seed)


# -- 6. predator-prey: MADDPG vs independent predators ---------------------------------------------------------
def _tag(result: LabResult, cfg: Config, out: Path) -> None:
    tc = cfg.tag
    random = _evaluate(cfg, "tag", None, prey_thrust=tc.prey_thrust)
    result.metric("tag/random/captures_per_episode", random.captures.mean())
    seeds = [cfg.seed + k for k in range(cfg.tag_seeds)]  # training seeds, each shared by a MADDPG and an independent run
    progress.status(f"simple_tag: MADDPG and independent predators, {len(seeds)} paired seed(s), side by side")
    runs = train_runs(tc, seeds, [True, False])
    captures, curves = {}, {}
    for name, rs in zip(("maddpg", "independent"), runs):
        captures[name] = np.array([_evaluate(cfg, "tag", r.actor_params(), prey_thrust=tc.prey_thrust).captures.mean()
                                   for r in rs])
        result.metric(f"tag/{name}/captures_per_episode", captures[name].mean())
        result.metric(f"tag/{name}/capture_ratio", capture_ratio(captures[name], random))
        curves[name] = rs[0].episode_returns[:, 0] / 10           # a predator's reward is +10 per capture
    v = result.value
    for name in ("maddpg", "independent"):
        if name not in cfg.tag_checked:
            result.note(f"tag, {name}: predators' captures per episode / random predators' = {v(f'tag/{name}/capture_ratio'):.2f}, "
                        f"reported, not held, at {tc.n_episodes} episodes and {len(seeds)} seed(s) (held in the full preset)")
            continue
        result.check(f"tag, {name}: predators' captures per episode / random predators'", v(f"tag/{name}/capture_ratio"),
                     reference=cfg.tag_capture_ratio, tolerance=0.0, kind="at_least",
                     source=f"{MPE2}: simple_tag's +10 per predator-prey contact; random predators measured here on the same "
                            "evaluation episodes")
    gains = (captures["maddpg"] - captures["independent"]) / random.captures.mean()
    result.metric("tag/maddpg_minus_independent_ratio", gains.mean())
    text = (f"simple_tag against a prey that flees by script at thrust {tc.prey_thrust}: captures per episode "
            f"{v('tag/maddpg/captures_per_episode'):.3f} (MADDPG predators), {v('tag/independent/captures_per_episode'):.3f} "
            f"(independent DDPG), {v('tag/random/captures_per_episode'):.3f} (random); MADDPG − independent, in units of "
            f"random's rate, per seed: {', '.join(f'{g:+.2f}' for g in gains)}")
    if len(gains) > 1:
        result.metric("tag/maddpg_minus_independent_lower_bound", paired_lower_bound(gains))
        text += f" (one-sided 95% lower bound {v('tag/maddpg_minus_independent_lower_bound'):+.2f})"
    result.note(text + ". Lowe et al. report MADDPG predators ahead of DDPG ones after 25,000 episodes against a learned prey.")
    _plot_curves(curves, v("tag/random/captures_per_episode"), "simple_tag: captures per training episode",
                 out / "tag_training.png", result, ylabel="captures per episode")


def capture_ratio(captures: np.ndarray, random: EpisodeStats) -> float:
    """Trained predators' mean captures per episode (over runs) over random predators' on the same evaluation episodes."""
    return float(np.mean(captures) / random.captures.mean())


# -- 3. competition: physical deception ------------------------------------------------------------------
def _adversary(result: LabResult, cfg: Config) -> None:
    random = _evaluate(cfg, "adversary", None)
    result.metric("adversary/random/adversary_goal_distance", random.goal_distance[:, 0].mean())
    result.metric("adversary/random/good_goal_distance", random.goal_distance[:, 1:].min(1).mean())
    pairings = {"good_maddpg_vs_adv_ddpg": (False, True, True), "good_ddpg_vs_adv_maddpg": (True, False, False),
                "all_maddpg": (True, True, True)}
    progress.status("simple_adversary: three pairings of MADDPG and DDPG, trained side by side")
    runs = train_runs(cfg.adversary, [cfg.seed], list(pairings.values()))
    for name, (res,) in zip(pairings, runs):
        stats = _evaluate(cfg, "adversary", res.actor_params())
        result.metric(f"adversary/{name}/adversary_goal_distance", stats.goal_distance[:, 0].mean())
        result.metric(f"adversary/{name}/good_goal_distance", stats.goal_distance[:, 1:].min(1).mean())
        result.metric(f"adversary/{name}/good_return", stats.returns[:, 1].mean())
    v = result.value
    for name in pairings:
        # the adversary does not see which landmark is the goal: it learns to close on it from the good agents and
        # the landmarks (hedging between the two landmarks alone gives about half a random policy's distance)
        result.check(f"adversary, {name}: the adversary's distance to the goal / random's",
                     v(f"adversary/{name}/adversary_goal_distance") / v("adversary/random/adversary_goal_distance"),
                     reference=ADVERSARY_DISTANCE_RATIO, tolerance=0.0,
                     source=f"{LOWE}, physical deception; random policy measured here", kind="at_most")
    diff = v("adversary/good_maddpg_vs_adv_ddpg/good_return") - v("adversary/good_ddpg_vs_adv_maddpg/good_return")
    if not cfg.competitive_outcomes:
        result.note(f"simple_adversary after {cfg.adversary.n_episodes:,} episodes: the good agents' nearest distance to the "
                    f"goal over random's is " + ", ".join(f"{v(f'adversary/{n}/good_goal_distance') / v('adversary/random/good_goal_distance'):.2f} ({n})"
                                                        for n in pairings)
                    + f"; good agents' return, MADDPG good vs DDPG adversary minus the reverse: {diff:+.2f}. At this scale "
                    "the good agents have barely started to learn; the full preset checks both.")
        return
    for name in pairings:
        result.check(f"adversary, {name}: nearest good agent's distance to the goal / random's",
                     v(f"adversary/{name}/good_goal_distance") / v("adversary/random/good_goal_distance"), reference=0.65, tolerance=0.0,
                     source=f"{LOWE}, physical deception; random policy measured here", kind="at_most")
    result.check("adversary: good agents' return, MADDPG good vs DDPG adversary − DDPG good vs MADDPG adversary",
                 diff, reference=1.0, tolerance=0.0, source=f"{LOWE}, physical deception (MADDPG good agents outplay a DDPG adversary, not the reverse)",
                 kind="at_least")


# -- 4. parallel rollouts ------------------------------------------------------------------------------------
def _parallel_rollouts(result: LabResult, cfg: Config, params) -> None:
    seeds = list(range(EVAL_SEED, EVAL_SEED + cfg.rollout_episodes))  # unseen by training; the same for every worker count
    reference = None
    worst = 0.0
    for w in progress.track(cfg.workers, "parallel rollouts on mpe2"):
        stats, seconds = parallel_episodes("speaker_listener", params, seeds, w)
        result.metric(f"rollouts/samples_per_s_{w}_workers", len(seeds) * EPISODE_STEPS / seconds, "steps/s", volatile=True)
        if reference is None:
            reference = stats.returns
        else:
            worst = max(worst, float(np.abs(stats.returns - reference).max()))
    base = result.value(f"rollouts/samples_per_s_{cfg.workers[0]}_workers")
    for w in cfg.workers[1:]:
        result.metric(f"rollouts/speedup_{w}_workers", result.value(f"rollouts/samples_per_s_{w}_workers") / base,
                      volatile=True)
    result.check("parallel rollouts: returns identical for every worker count (max |Δ|)", worst, reference=0.0, tolerance=0.0,
                 source="same seeds and weights on mpe2 (determinism)", kind="at_most")
