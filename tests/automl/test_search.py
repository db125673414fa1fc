"""automl/search.py: the data read without scikit-learn, the CV objective against scikit-learn's Ridge, samplers."""
import numpy as np
import pytest

from modelbook.automl.search import GroupRidgeCV, construct_quadratic, diabetes_raw, grid_values, paired_summary, run_search
from modelbook.evaluation.cv import kfold


def test_diabetes_raw_equals_load_diabetes():
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, scaled=False)
    xr, yr = diabetes_raw()
    np.testing.assert_array_equal(xr, x)
    np.testing.assert_array_equal(yr, y)


def test_quadratic_construction_equals_polynomial_features():
    from sklearn.preprocessing import PolynomialFeatures

    x = np.random.default_rng(0).normal(size=(20, 4))
    ours = construct_quadratic(x)
    theirs = PolynomialFeatures(2, include_bias=False).fit_transform(x)
    # same set of columns (PolynomialFeatures interleaves squares and products)
    assert ours.shape == theirs.shape
    for col in ours.T:
        assert np.min(np.abs(theirs - col[:, None]).max(0)) < 1e-12


def test_equal_penalties_equal_sklearn_ridge_cv():
    from sklearn.linear_model import Ridge

    p = GroupRidgeCV(seed=3)
    alpha = 7.0
    mse = []
    for train, test in kfold(len(p.y), 3, np.random.default_rng(3)):
        m = Ridge(alpha=alpha).fit(p.f[train], p.y[train])
        mse.append(np.mean((m.predict(p.f[test]) - p.y[test]) ** 2))
    assert p.score([alpha] * 3) == pytest.approx(np.mean(mse), rel=1e-9)


def test_grid_has_the_budget_and_search_curves_fall():
    g = grid_values(27)
    assert all(len(v) == 3 for v in g.values())
    p = GroupRidgeCV(seed=0)
    for name in ("tpe", "random", "grid"):
        c = run_search(p, name, seed=1, n_trials=27)
        assert len(c) == 27 and np.all(np.diff(c) <= 0)


def test_paired_summary_bites():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    s = paired_summary(a + 1, a)
    assert s["mean"] == 1 and s["wins"] == 1 and s["ties"] == 0
    assert paired_summary(a, a + np.array([0.5, -0.5, 0.5, -0.5]))["lower95"] < 0  # no consistent winner: no claim
