"""MARL: MADDPG vs independent learners, communication, competition, parallel rollouts on mpe2 (topic 36).

What this lab shows
  1. Cooperative communication (mpe2 simple_speaker_listener_v4): a static speaker sees the goal's colour,
     a listener moves. MADDPG (centralised critics, decentralised actors, from scratch) learns from a random
     start (quick preset: 1,000 episodes). Full preset: with the channel, the listener ends much closer to
     the goal than with the channel cut (the speaker's utterance zeroed in its observation), and
     independent DDPG learners do not learn to communicate (Lowe et al. 2017, §5).
  2. Full preset: cooperative navigation (simple_spread_v3, 3 agents, 3 landmarks, 25 steps): MADDPG vs
     independent DDPG vs a random policy: return, coverage (Σ over landmarks of the nearest agent's
     distance, averaged over the episode), landmarks occupied at the end, collisions per episode.
  3. Full preset: competition on simple_adversary_v3 (physical deception): good agents and the adversary
     trained with MADDPG or DDPG against each other; the distances of the adversary and of the nearest good
     agent to the goal show who wins.
  4. Parallel rollouts: the same seeded episodes on mpe2 in 1, 2, (4) worker processes: identical results,
     samples/s vs workers (volatile; this machine has 2 cores, so more than 2 workers cannot help).
  5. The batched particle worlds used for training and evaluation (marl/mpe_batch.py) equal mpe2 step for
     step, re-checked here, and a trained policy scores the same when replayed on mpe2's own env.

Differences from the paper
  - Lowe et al. train for 25,000 episodes with batch 1024; the full preset trains 4,000–6,000 episodes with
    batch 256 (one update per 25 transitions), the quick preset 1,000. Trends, not the paper's numbers: its
    cooperative-navigation table is not checked (low confidence in the values; a different scale).
  - Continuous actions in [0, 1]^d (mpe2's continuous_actions=True) with Gaussian exploration noise, instead
    of the paper's Gumbel-softmax over discrete actions.
  - Training and the 1,000-episode evaluations step the batched re-implementation of mpe2, which this run
    re-checks against mpe2; the parallel rollouts and the replay check run on mpe2 itself.

Design notes
  - Training runs on a batched numpy re-implementation of mpe2's particle worlds (marl/mpe_batch.py): mpe2 steps
    one world in Python at ≈ 0.4 ms, too slow for MADDPG's thousands of episodes on a CPU. The batched worlds
    equal mpe2 bit for bit on positions (tests/marl/test_mpe_batch.py); this lab re-checks that on every run and
    replays a trained policy on mpe2 itself, and the parallel-rollout part runs mpe2 in worker processes. MADDPG's
    per-agent networks are batched as one "ensemble" matmul (independent weights), 1.7× faster than a loop over
    agents.

Building blocks: modelbook/marl/{mpe_batch,maddpg,rollouts}.py
Cross-checks:    tests/marl/test_mpe_batch.py (equal to mpe2), tests/marl/test_maddpg.py, tests/labs/test_marl.py
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.marl.maddpg import MADDPGConfig, train
from modelbook.marl.mpe_batch import SCENARIOS, BatchedMPE
from modelbook.marl.rollouts import EpisodeStats, batched_episodes, make_env, parallel_episodes, run_episodes

LOWE = "Lowe et al. 2017, Multi-Agent Actor-Critic for Mixed Cooperative-Competitive Environments"
MPE2 = "mpe2 1.1.1 (simple_spread_v3, simple_speaker_listener_v4, simple_adversary_v3)"
EVAL_SEED = 1_000_000  # evaluation episodes use seeds the training never sees
EPISODE_STEPS = 25     # mpe2's max_cycles: steps per episode, for the samples/s of the rollouts
# The equality check replays one fixed episode per scenario: it tests the physics, not a seed, so its seeds are
# constants, not cfg.seed: mpe2's reset seed, and the stream of the random actions both worlds receive.
EQUALITY_RESET_SEED, EQUALITY_ACTION_SEED = 7, 0
# The quick preset trains 1,000 episodes: at 700 the listener's distance ratio to a random policy's spread from 0.55 to
# 0.71 over seeds 0, 1234567, 1..8 and reached 0.83 on another seed; at 1,000 it spread from 0.51 to 0.60.
QUICK_EPISODES = 1000


@dataclass(frozen=True)
class Config:
    speaker_listener: MADDPGConfig = MADDPGConfig(scenario="speaker_listener", n_episodes=4000, batch_size=256,
                                                  transitions_per_update=25, learning_starts=500)
    speaker_listener_variants: tuple[str, ...] = ("maddpg", "maddpg_no_channel", "independent")
    spread: MADDPGConfig | None = MADDPGConfig(scenario="spread", n_episodes=6000, batch_size=256,
                                               transitions_per_update=25, learning_starts=500)
    """MADDPG vs independent learners on simple_spread; None skips it"""
    adversary: MADDPGConfig | None = MADDPGConfig(scenario="adversary", n_episodes=4000, batch_size=256,
                                                  transitions_per_update=25, learning_starts=500)
    """None skips the competitive experiment"""
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
                    speaker_listener_variants=("maddpg",), spread=None, adversary=None, mpe2_episodes=24,
                    workers=(1, 2), rollout_episodes=16),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("marl", cfg)
    _batched_equals_mpe2(result)
    params = _speaker_listener(result, cfg, out)
    if cfg.spread is not None:
        _spread(result, cfg, out)
    if cfg.adversary is not None:
        _adversary(result, cfg)
    _parallel_rollouts(result, cfg, params)
    return result


def _evaluate(cfg: Config, scenario: str, params, comm_ablation: bool = False) -> EpisodeStats:
    return batched_episodes(scenario, params, cfg.eval_episodes, EVAL_SEED + cfg.seed, comm_ablation)


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
    for name, central in progress.track([("maddpg", True), ("independent", False)], "simple_spread: MADDPG vs independent"):
        res = train(replace(cfg.spread, centralised=central), cfg.seed)
        _summary(result, f"spread/{name}", _evaluate(cfg, "spread", res.agents.actor_params()))
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


def _plot_curves(curves: dict, random_level: float, title: str, path: Path, result: LabResult) -> None:
    fig, ax = plots.figure(1, 1, size=(6.4, 4))
    for name, c in curves.items():
        w = max(len(c) // 40, 1)
        ax.plot(np.convolve(c, np.ones(w) / w, mode="valid"), label=name)
    ax.axhline(random_level, ls=":", c="grey", label=f"random ({random_level:.1f}, on mpe2)")
    ax.set(xlabel="training episode", ylabel="return per agent", title=title)
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, path))


# -- 2. speaker-listener: the value of the channel --------------------------------------------------------
def _speaker_listener(result: LabResult, cfg: Config, out: Path):
    """Returns the MADDPG actors' weights (for the parallel rollouts)."""
    random = _evaluate(cfg, "speaker_listener", None)
    result.metric("speaker_listener/random/return", random.returns[:, 0].mean())
    result.metric("speaker_listener/random/listener_goal_distance", random.goal_distance[:, 1].mean())
    curves, params, trained_stats = {}, None, {}
    variants = {"maddpg": (dict(), False), "maddpg_no_channel": (dict(comm_ablation=True), True),
                "independent": (dict(centralised=False), False)}
    for name in progress.track(cfg.speaker_listener_variants, "speaker-listener: with / without the channel"):
        kw, cut = variants[name]
        res = train(replace(cfg.speaker_listener, **kw), cfg.seed)
        stats = _evaluate(cfg, "speaker_listener", res.agents.actor_params(), comm_ablation=cut)
        result.metric(f"speaker_listener/{name}/return", stats.returns[:, 0].mean())
        result.metric(f"speaker_listener/{name}/listener_goal_distance", stats.goal_distance[:, 1].mean())
        trained_stats[name] = stats
        curves[name] = res.episode_returns[:, 0]
        if name == "maddpg":
            params = res.agents.actor_params()
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


# -- 3. competition: physical deception ------------------------------------------------------------------
def _adversary(result: LabResult, cfg: Config) -> None:
    random = _evaluate(cfg, "adversary", None)
    result.metric("adversary/random/adversary_goal_distance", random.goal_distance[:, 0].mean())
    result.metric("adversary/random/good_goal_distance", random.goal_distance[:, 1:].min(1).mean())
    pairings = {"good_maddpg_vs_adv_ddpg": (False, True, True), "good_ddpg_vs_adv_maddpg": (True, False, False),
                "all_maddpg": (True, True, True)}
    for name, central in progress.track(list(pairings.items()), "simple_adversary: MADDPG vs DDPG"):
        res = train(replace(cfg.adversary, centralised=central), cfg.seed)
        stats = _evaluate(cfg, "adversary", res.agents.actor_params())
        result.metric(f"adversary/{name}/adversary_goal_distance", stats.goal_distance[:, 0].mean())
        result.metric(f"adversary/{name}/good_goal_distance", stats.goal_distance[:, 1:].min(1).mean())
        result.metric(f"adversary/{name}/good_return", stats.returns[:, 1].mean())
    v = result.value
    for name in pairings:
        result.check(f"adversary, {name}: nearest good agent's distance to the goal / random's",
                     v(f"adversary/{name}/good_goal_distance") / v("adversary/random/good_goal_distance"), reference=0.65, tolerance=0.0,
                     source=f"{LOWE}, physical deception; random policy measured here", kind="at_most")
    result.check("adversary: good agents' return, MADDPG good vs DDPG adversary − DDPG good vs MADDPG adversary",
                 v("adversary/good_maddpg_vs_adv_ddpg/good_return") - v("adversary/good_ddpg_vs_adv_maddpg/good_return"),
                 reference=1.0, tolerance=0.0, source=f"{LOWE}, physical deception (MADDPG good agents outplay a DDPG adversary, not the reverse)",
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
