"""Scorecard: IV vs scipy's entropy, KS vs ks_2samp, Gini vs sklearn's AUC, monotone bins, points = log-odds."""
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from modelbook.finance import scorecard


def _data(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    util = rng.random(n)
    logit = -3 - 0.8 * (np.log(income) - 10) / 0.5 + 2.0 * util
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([income, util]), y


def test_binning_is_monotone_and_iv_is_jeffreys_divergence():
    X, y = _data()
    for j, direction in ((0, 1), (1, -1)):                   # more income: more good; more utilisation: less good
        b = scorecard.monotone_binning(X[:, j], y, max_bins=10)
        assert b.monotone and len(b.woe) >= 3
        assert np.sign(b.woe[-1] - b.woe[0]) == direction
        g, d = b.goods + scorecard.SMOOTH, b.bads + scorecard.SMOOTH
        assert abs(b.iv - (stats.entropy(g, d) + stats.entropy(d, g))) < 1e-12
        assert b.goods.sum() + b.bads.sum() == len(y)


def test_bite_non_monotone_signal_gets_merged():
    rng = np.random.default_rng(3)
    x = rng.random(5000)
    y = (rng.random(5000) < np.where(np.abs(x - 0.5) < 0.2, 0.2, 0.05)).astype(int)   # U-shaped risk
    b = scorecard.monotone_binning(x, y, max_bins=10)
    assert b.monotone and len(b.woe) < 10                     # the fine bins were not monotone and got merged


def test_points_add_up_to_log_odds_and_double_odds():
    X, y = _data(1)
    bins = [scorecard.monotone_binning(X[:, j], y) for j in range(2)]
    coef, intercept = np.array([-0.9, -1.1]), -2.5
    pts = scorecard.points_table(bins, coef, intercept)
    s = scorecard.score(bins, pts, X)
    logodds_good = -(intercept + sum(c * b.transform(X[:, j]) for j, (c, b) in enumerate(zip(coef, bins))))
    sc = scorecard.Scaling()
    assert np.allclose(s, sc.offset + sc.factor * logodds_good, atol=1e-9)
    assert abs(sc.factor - 28.8539) < 1e-4 and abs(sc.offset - 487.1229) < 1e-3      # 600 at 50:1, PDO 20
    assert abs((sc.offset + sc.factor * np.log(100)) - 620) < 1e-9                   # doubling the odds: +20 points


@pytest.mark.parametrize("seed", range(3))
def test_ks_and_gini_equal_scipy_and_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(2000) < 0.1).astype(int)
    s = np.round(rng.normal(600 - 40 * y, 50), 0)             # integer points: ties, as real scores have
    assert abs(scorecard.ks_statistic(s, y) - stats.ks_2samp(s[y == 1], s[y == 0]).statistic) < 1e-12
    assert abs(scorecard.gini(y, -s) - (2 * roc_auc_score(y, -s) - 1)) < 1e-12
