"""Lab `finance`: measured outcomes beyond the contract (quick preset)."""
import numpy as np

from modelbook.finance import strategy


def _check(result, start):
    return next(c for c in result.checks if c.name.startswith(start))


def test_library_equalities_hold(quick_result):
    result, _ = quick_result("finance")
    for start in ("GARCH(1,1) log-likelihood at arch", "GARCH(1,1) fit: max relative", "GARCH(1,1) fit: our maximised",
                  "Kupiec and conditional-coverage p-values", "Christoffersen LR_ind", "KS: ours vs scipy",
                  "Gini: ours vs 2·AUC", "PR-AUC (average precision)", "IV = Jeffreys"):
        c = _check(result, start)
        assert c.passed, (c.name, c.measured, c.reference)
    v = result.value
    assert 0 < v("garch/alpha") < 0.3 and 0.6 < v("garch/beta") < 1 and v("garch/persistence") < 1


def test_leaked_feature_inflates_and_the_delay_removes_it(quick_result):
    result, _ = quick_result("finance")
    v = result.value
    assert v("strategy/leaked/sharpe_net") > v("strategy/honest/sharpe_net") + 3
    assert v("strategy/leaked_delayed/sharpe_net") < v("strategy/honest/sharpe_net") + 1
    # costs always cost: net below gross for every pipeline
    for k in ("honest", "leaked", "leaked_delayed"):
        assert v(f"strategy/{k}/sharpe_net") < v(f"strategy/{k}/sharpe_gross")
    assert v("strategy/best_trial_dsr") < v("strategy/best_trial_psr")


def test_leaky_feature_really_contains_tomorrow():
    r = np.random.default_rng(0).standard_normal(50)
    leaked, honest = strategy.features(r, leak=True), strategy.features(r, leak=False)
    t = 20
    assert abs(leaked[t, 3] - r[t - 1:t + 2].mean()) < 1e-12               # r_{t+1} inside row t
    r2 = r.copy()
    r2[t + 1] += 10
    assert np.array_equal(strategy.features(r2, leak=False)[: t + 1], honest[: t + 1])   # honest rows never move
    assert strategy.features(r2, leak=True)[t, 3] != leaked[t, 3]
    assert np.array_equal(strategy.features(r, leak=True, delay=1)[t], leaked[t - 1])


def test_risk_and_cost_findings(quick_result):
    result, run_dir = quick_result("finance")
    v = result.value
    # fat tails: the normal model breaks more often than the GARCH one, and both against the 1% nominal rate
    assert v("var/normal/exception_rate") > v("var/garch/exception_rate") > 0.005
    assert v("var/normal/kupiec_p") < 0.05 < v("var/garch/kupiec_p")
    assert abs(v("detection/bayes_threshold") - 1 / 11) < 1e-12
    assert v("detection/default/cost_min_exhaustive") <= v("detection/default/cost_at_bayes_threshold") < v("detection/default/cost_approve_all")
    assert v("scorecard/monotone_share") == 1.0 and v("scorecard/variables_kept") >= 5
    for name in ("detection_pr_profit.png", "scorecard.png", "var_forecasts.png", "strategy_lookahead.png"):
        assert (run_dir / name).stat().st_size > 0
