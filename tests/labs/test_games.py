"""Lab `games`: measured outcomes beyond the contract (quick preset)."""


def _check(result, start):
    return next(c for c in result.checks if c.name.startswith(start))


def test_solved_and_matched(quick_result):
    result, run_dir = quick_result("games")
    v = result.value
    assert v("ttt/start_value_alphabeta") == 0 and v("ttt/positions") == 5478
    for start in ("tic-tac-toe start value", "reachable positions", "alpha-beta value vs exhaustive",
                  "our values vs OpenSpiel", "connect four, our UCT vs OpenSpiel", "generated levels proved",
                  "optimal solution length", "constrained beats that parse", "constrained beats that respect"):
        assert _check(result, start).passed, start
    assert v("c4/vs_random/score") >= 0.75
    assert v("levels/solvable_share") == 1.0 and v("levels/random_placement_solvable_share") < 1.0
    assert v("story/constrained/parse_rate") == 1.0 and v("story/free/parse_rate") < 1.0
    for name in ("connect_four_scores.png", "alphazero_elo.png", "level_difficulty.png", "story_rates.png", "levels.txt"):
        assert (run_dir / name).stat().st_size > 0


def test_alphazero_beats_pure_mcts(quick_result):
    result, _ = quick_result("games")
    assert _check(result, "AlphaZero (PUCT + trained network) vs pure UCT").passed
    assert result.value("az/vs_uct/score") > 0.5
    assert _check(result, "Elo of the last checkpoint").passed
