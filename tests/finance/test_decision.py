"""Cost curve by brute force; the Bayes threshold on calibrated probabilities."""
import numpy as np

from modelbook.finance import decision


def test_cost_curve_equals_brute_force_with_ties():
    rng = np.random.default_rng(0)
    p = np.round(rng.random(300), 2)                          # many ties
    y = (rng.random(300) < p).astype(int)
    thr, cost = decision.cost_curve(y, p, 1.0, 7.0)
    brute = [decision.realised_cost(y, p, t, 1.0, 7.0) for t in thr]
    assert np.allclose(cost, brute)
    share, saving = decision.profit_curve(y, p, 1.0, 7.0)
    assert share[0] == 0 and share[-1] == 1 and saving[0] == 0


def test_bayes_threshold_is_optimal_for_calibrated_probabilities():
    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 5, 200_000)
    y = (rng.random(len(p)) < p).astype(int)                 # p is calibrated by construction
    thr, cost = decision.cost_curve(y, p, 1.0, 10.0)
    t_star = decision.bayes_threshold(1.0, 10.0)
    assert abs(t_star - 1 / 11) < 1e-15
    c_star = decision.realised_cost(y, p, t_star, 1.0, 10.0)
    assert c_star <= cost.min() * 1.005                        # within 0.5% of the exhaustive search
    # bite: a wrong threshold (c_FN/(c_FP + c_FN)) costs far more
    assert decision.realised_cost(y, p, 10 / 11, 1.0, 10.0) > 1.3 * c_star
