"""Lab `marl`: measured outcomes beyond the contract (quick preset)."""


def test_marl_quick_outcomes(quick_result):
    result, run_dir = quick_result("marl")
    v = result.value
    assert v("batched_vs_mpe2/max_abs_diff") <= 1e-5
    assert v("speaker_listener/maddpg/return") > v("speaker_listener/random/return") + 8
    assert v("speaker_listener/maddpg/listener_goal_distance") < v("speaker_listener/random/listener_goal_distance")
    assert v("rollouts/samples_per_s_1_workers") > 0 and v("rollouts/samples_per_s_2_workers") > 0
    assert (run_dir / "speaker_listener.png").stat().st_size > 0
