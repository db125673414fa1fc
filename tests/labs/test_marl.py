"""Lab `marl`: measured outcomes beyond the contract (quick preset)."""


def test_marl_quick_outcomes(quick_result):
    result, run_dir = quick_result("marl")
    v = result.value
    assert v("batched_vs_mpe2/max_abs_diff") <= 1e-5
    assert v("speaker_listener/maddpg/return") > v("speaker_listener/random/return") + 8
    assert v("speaker_listener/maddpg/listener_goal_distance") < v("speaker_listener/random/listener_goal_distance")
    assert v("rollouts/samples_per_s_1_workers") > 0 and v("rollouts/samples_per_s_2_workers") > 0
    assert (run_dir / "speaker_listener.png").stat().st_size > 0


def test_listener_distance_check_fails_for_an_untrained_policy():
    """Bite: the lab's listener-distance check (ratio ≤ 0.8) on MADDPG actors that never updated: it must fail."""
    from dataclasses import replace

    from modelbook.labs.marl import PRESETS, _evaluate, listener_distance_ratio
    from modelbook.marl.maddpg import train

    cfg = replace(PRESETS["quick"], eval_episodes=200)
    sl = cfg.speaker_listener
    untrained = train(replace(sl, n_episodes=sl.n_envs, learning_starts=10 * sl.n_envs, buffer_episodes=sl.n_envs), seed=0)  # no update
    assert untrained.updates == 0
    random = _evaluate(cfg, "speaker_listener", None)
    ratio = listener_distance_ratio(_evaluate(cfg, "speaker_listener", untrained.agents.actor_params()), random)
    assert ratio > 0.8, ratio
