"""Lab `exploration`: measured outcomes beyond the contract (quick preset)."""


def test_testbed_shapes_of_figures_2_2_and_2_4(quick_result):
    result, _ = quick_result("exploration")
    v = result.value
    assert abs(v("testbed/expected_max_exact") - 1.5388) < 1e-4
    # ordering at step 1000: UCB > ε = 0.1 > greedy in reward; ε = 0.1 explores most among the ε agents
    reward = {k: v(f"testbed/{k}/final_avg_reward") for k in ("ucb_c2", "eps_0.1", "greedy")}
    optimal = {k: v(f"testbed/{k}/final_optimal_fraction") for k in ("eps_0.1", "eps_0.01", "greedy")}
    assert reward["ucb_c2"] > reward["eps_0.1"] > reward["greedy"]
    assert optimal["eps_0.1"] > optimal["eps_0.01"] > optimal["greedy"]


def test_ucb1_regret_logarithmic_and_bounded(quick_result):
    result, _ = quick_result("exploration")
    v = result.value
    assert v("ucb1/max_regret_over_bound") < 1
    assert v("ucb1/local_loglog_slope_last_decade") < 0.5 < 0.8 < v("ucb1/eps_greedy_local_loglog_slope_last_decade")
    assert v("ucb1/lai_robbins_rate") < v("ucb1/log_fit_slope")


def test_double_q_and_schedules(quick_result):
    result, run_dir = quick_result("exploration")
    v = result.value
    assert v("max_bias/q_learning/left_first50") > v("max_bias/double_q/left_first50") + 0.2
    assert abs(v("frozen/optimal_success") - 0.7402) < 1e-3
    assert v("frozen/optimistic/greedy_policy_success") > v("frozen/greedy/greedy_policy_success")
    for name in ("testbed.png", "ucb1_regret.png", "frozenlake_schedules.png", "maximization_bias.png"):
        assert (run_dir / name).stat().st_size > 0
