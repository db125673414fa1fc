"""Operating points and decision curves against scikit-learn and the closed forms of Vickers & Elkin (2006)."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_curve

from modelbook.medical import decision


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    score = np.clip(0.3 * y + rng.normal(0.35, 0.2, 400), 0.001, 0.999)
    return y.astype(int), score


def test_sensitivity_specificity_equal_sklearn_confusion_matrix(scored):
    y, s = scored
    for t in (0.2, 0.4, 0.6):
        tn, fp, fn, tp = confusion_matrix(y, s >= t).ravel()
        assert decision.sensitivity_specificity(y, s, t) == pytest.approx((tp / (tp + fn), tn / (tn + fp)), abs=1e-15)


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 1.0])
def test_threshold_for_sensitivity_is_the_highest_roc_threshold_reaching_it(scored, target):
    y, s = scored
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    expected = thr[tpr >= target - 1e-12].max()
    assert decision.threshold_for_sensitivity(y, s, target) == pytest.approx(expected)
    assert decision.sensitivity_specificity(y, s, decision.threshold_for_sensitivity(y, s, target))[0] >= target


def test_net_benefit_formula_and_reference_strategies(scored):
    y, s = scored
    prev = y.mean()
    for pt in (0.05, 0.1, 0.25, 0.5, 0.8):
        treat = s >= pt
        tp, fp = (treat & (y == 1)).sum(), (treat & (y == 0)).sum()
        assert decision.net_benefit(y, s, pt) == pytest.approx(tp / len(y) - fp / len(y) * pt / (1 - pt), abs=1e-15)
        assert decision.net_benefit(y, np.ones_like(s), pt) == pytest.approx(decision.treat_all_net_benefit(prev, pt), abs=1e-15)
        assert decision.net_benefit(y, np.zeros_like(s), pt) == 0.0
    # a known value: prevalence 0.2, pt = 0.2 -> treat all = 0.2 - 0.8 * 0.25 = 0
    assert decision.treat_all_net_benefit(0.2, 0.2) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError):
        decision.net_benefit(y, s, 1.0)


def test_bite_net_benefit_with_the_wrong_weight_misses_treat_all(scored):
    """Weighting false positives by pt (not the odds pt/(1 − pt)) is the common slip: the treat-all check catches it."""
    y, _ = scored
    pt = 0.3
    wrong = y.mean() - (1 - y.mean()) * pt
    assert abs(wrong - decision.treat_all_net_benefit(y.mean(), pt)) > 0.05


def test_youden_threshold_maximises_j(scored):
    y, s = scored
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    j_best = (tpr - fpr).max()
    sens, spec = decision.sensitivity_specificity(y, s, decision.youden_threshold(y, s))
    assert sens + spec - 1 == pytest.approx(j_best)
