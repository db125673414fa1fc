"""Lab `marl`: measured outcomes beyond the contract (quick preset), and bite tests of its checks."""
from dataclasses import replace

import numpy as np


def test_marl_quick_outcomes(quick_result):
    result, run_dir = quick_result("marl")
    v = result.value
    assert v("batched_vs_mpe2/max_abs_diff") <= 1e-5
    assert v("speaker_listener/maddpg/return") > v("speaker_listener/random/return") + 8
    assert v("speaker_listener/maddpg/listener_goal_distance") < v("speaker_listener/random/listener_goal_distance")
    assert v("speaker_listener/independent/critic_residual_speaker") > 1.2 * v("speaker_listener/maddpg/critic_residual_speaker")
    assert v("tag/independent/capture_ratio") >= 1.25 and v("tag/maddpg/capture_ratio") > 0  # MADDPG reported in quick
    assert v("adversary/all_maddpg/adversary_goal_distance") < v("adversary/random/adversary_goal_distance")
    assert v("rollouts/samples_per_s_1_workers") > 0 and v("rollouts/samples_per_s_2_workers") > 0
    for plot in ("speaker_listener.png", "tag_training.png"):
        assert (run_dir / plot).stat().st_size > 0


def test_listener_distance_check_fails_for_an_untrained_policy():
    """Bite: the lab's listener-distance check (ratio ≤ 0.8) on MADDPG actors that never updated: it must fail."""
    from modelbook.labs.marl import PRESETS, _evaluate, listener_distance_ratio
    from modelbook.marl.maddpg import train

    cfg = replace(PRESETS["quick"], eval_episodes=200)
    sl = cfg.speaker_listener
    untrained = train(replace(sl, n_episodes=sl.n_envs, learning_starts=10 * sl.n_envs, buffer_episodes=sl.n_envs), seed=0)  # no update
    assert untrained.updates == 0
    random = _evaluate(cfg, "speaker_listener", None)
    ratio = listener_distance_ratio(_evaluate(cfg, "speaker_listener", untrained.actor_params()), random)
    assert ratio > 0.8, ratio


def test_capture_check_fails_for_random_predators():
    """Bite: predators that act randomly (another random stream than the reference's) miss the capture check (≥ 1.25)."""
    from modelbook.labs.marl import PRESETS, _evaluate, capture_ratio
    from modelbook.marl.rollouts import batched_episodes

    cfg = PRESETS["quick"]
    thrust = cfg.tag.prey_thrust
    random = _evaluate(cfg, "tag", None, prey_thrust=thrust)
    others = [batched_episodes("tag", None, cfg.tag_eval_episodes, seed, prey_thrust=thrust).captures.mean() for seed in (1, 2, 3)]
    assert all(capture_ratio(np.array([c]), random) < cfg.tag_capture_ratio for c in others), others


def test_residual_check_fails_when_the_maddpg_critic_sees_only_its_own_agent():
    """Bite: a "MADDPG" whose critics see only their own agent's observation and action, paired with independent DDPG
    at the quick preset's scale, gives a residual ratio near 1 (0.97 measured), under the check's 1.2."""
    from modelbook.labs.marl import PRESETS, critic_residuals
    from modelbook.marl.maddpg import train_runs

    cfg = PRESETS["quick"]
    (own_only,), (independent,) = train_runs(cfg.speaker_listener, [cfg.seed], [False, False])
    ratio = critic_residuals(cfg, independent)[0] / critic_residuals(cfg, own_only)[0]
    assert ratio < 1.2, ratio


def test_adversary_check_fails_for_a_random_adversary():
    """Bite: an adversary that acts randomly (another stream than the reference's) misses the check (ratio ≤ 0.85)."""
    from modelbook.labs.marl import ADVERSARY_DISTANCE_RATIO, PRESETS, _evaluate
    from modelbook.marl.rollouts import batched_episodes

    cfg = PRESETS["quick"]
    reference = _evaluate(cfg, "adversary", None).goal_distance[:, 0].mean()
    for seed in (1, 2, 3):
        ratio = batched_episodes("adversary", None, cfg.eval_episodes, seed).goal_distance[:, 0].mean() / reference
        assert ratio > ADVERSARY_DISTANCE_RATIO, ratio
