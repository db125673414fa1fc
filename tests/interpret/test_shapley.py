"""Brute-force Shapley values of a gradient-boosting classifier equal shap's TreeExplainer; a wrong game or wrong
coalition weights do not."""
import warnings

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from modelbook.interpret import shapley


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.normal(size=300) > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=15, max_depth=3, subsample=0.8, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap
    explainer = shap.TreeExplainer(model)
    return model, X[:20], np.asarray(explainer.shap_values(X[:20])), float(np.ravel(explainer.expected_value)[0])


def test_brute_force_equals_shap_tree_explainer(model_and_data):
    model, X, sv, expected = model_and_data
    phi, ours_expected = shapley.gradient_boosting_shapley(model, X)
    assert np.abs(phi - sv).max() < 1e-9
    assert abs(ours_expected - expected) < 1e-9
    assert np.abs(ours_expected + phi.sum(1) - model.decision_function(X)).max() < 1e-9  # efficiency (local accuracy)


def test_a_wrong_game_or_wrong_weights_fail_the_comparison(model_and_data, monkeypatch):
    """The lab's tolerance (1e-9) catches a value function that ignores the covers (unknown features split 50/50)
    and Banzhaf weights (1 / 2^(M−1)) in place of Shapley's."""
    model, X, sv, _ = model_and_data
    real = shapley.coalition_values

    def half_half(tree, X, features, cover=None):
        return real(tree, X, features, cover=np.ones(tree.node_count))
    monkeypatch.setattr(shapley, "coalition_values", half_half)
    assert np.abs(shapley.gradient_boosting_shapley(model, X)[0] - sv).max() > 1e-3
    monkeypatch.undo()

    def banzhaf(v, n_players):
        subsets = np.arange(2 ** n_players)
        return np.stack([(v[subsets[(subsets >> i) & 1 == 0] | (1 << i)] - v[subsets[(subsets >> i) & 1 == 0]]).mean(0)
                         for i in range(n_players)], axis=1)
    monkeypatch.setattr(shapley, "shapley_from_values", banzhaf)
    assert np.abs(shapley.gradient_boosting_shapley(model, X)[0] - sv).max() > 1e-3
