"""Lab `rl`: measured outcomes beyond the contract (quick preset)."""


def test_cliff_walking_reproduces_example_6_6(quick_result):
    result, run_dir = quick_result("rl")
    v = result.value
    assert v("cliff/optimal_greedy_return") == -13
    assert abs(v("cliff/exact_eps_greedy_on_qstar_return") - (-50.8)) < 0.1      # exact, not sampled
    assert v("cliff/q_learning/greedy_edge_path_fraction") >= 0.9
    assert v("cliff/sarsa/greedy_edge_path_fraction") <= 0.1                    # SARSA avoids the edge
    assert v("cliff/sarsa/online_return") > v("cliff/q_learning/online_return") + 15
    assert (run_dir / "cliff_walking.png").stat().st_size > 0


def test_every_cartpole_method_learns(quick_result):
    result, _ = quick_result("rl")
    v = result.value
    assert 15 < v("cartpole/random_policy_return") < 30
    for name in ("reinforce", "dqn", "ppo"):
        assert v(f"cartpole/{name}/final_eval_return") > 3 * v("cartpole/random_policy_return"), name
        assert v(f"cartpole/{name}/env_steps") <= 6500
