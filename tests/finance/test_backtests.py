"""Kupiec and Christoffersen backtests vs scipy (χ² p-values, binomial likelihood, G-test of independence)."""
import numpy as np
import pytest
from scipy import stats

from modelbook.finance import backtests


def _series(seed, n=1000, rate=0.02):
    return np.random.default_rng(seed).random(n) < rate


@pytest.mark.parametrize("seed", range(6))
def test_kupiec_equals_binomial_lr_and_scipy_pvalue(seed):
    exc = _series(seed, rate=[0.005, 0.01, 0.02, 0.03, 0.01, 0.05][seed])
    T, x = len(exc), int(exc.sum())
    lr, p = backtests.kupiec_pof(exc, 0.01)
    # LR from the binomial log-pmf (the binomial coefficient cancels)
    ref = -2 * (stats.binom.logpmf(x, T, 0.01) - stats.binom.logpmf(x, T, x / T))
    assert abs(lr - ref) < 1e-9
    assert abs(p - stats.chi2.sf(lr, 1)) < 1e-12
    lr_cc, p_cc = backtests.conditional_coverage(exc, 0.01)
    assert abs(p_cc - stats.chi2.sf(lr_cc, 2)) < 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_christoffersen_equals_g_test(seed):
    exc = _series(seed + 10, rate=0.05)
    exc[100:110] = True                       # a cluster
    lr, p = backtests.christoffersen_independence(exc)
    g, p_ref, _, _ = stats.chi2_contingency(backtests.transitions(exc), correction=False, lambda_="log-likelihood")
    assert abs(lr - g) < 1e-9 and abs(p - p_ref) < 1e-12


def test_edge_cases_and_zones():
    none = np.zeros(250, bool)
    lr, p = backtests.kupiec_pof(none, 0.01)
    assert abs(lr - (-2 * 250 * np.log(0.99))) < 1e-12     # x = 0: only the (1 − p)^T term
    assert backtests.christoffersen_independence(none) == (0.0, 1.0)
    assert [backtests.basel_zone(k) for k in (0, 4, 5, 9, 10)] == ["green", "green", "yellow", "yellow", "red"]
    with pytest.raises(ValueError):
        backtests.chi2_sf(1.0, 3)


def test_bite_clustered_exceptions_are_caught():
    # same count, once spread evenly and once in one block: only independence tells them apart
    spread = np.zeros(1000, bool)
    spread[::100] = True
    block = np.zeros(1000, bool)
    block[500:510] = True
    assert backtests.kupiec_pof(spread, 0.01) == backtests.kupiec_pof(block, 0.01)
    assert backtests.christoffersen_independence(spread)[1] > 0.5
    assert backtests.christoffersen_independence(block)[1] < 1e-6
