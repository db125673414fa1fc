"""Bandits: the exact ceiling, UCB's arithmetic, UCB1's regret bound and its log growth, schedules."""
import numpy as np
import pytest

from modelbook.rl import schedules
from modelbook.rl.bandits import (
    expected_max_of_normals,
    lai_robbins_rate,
    last_decade_loglog_slope,
    log_fit,
    make_testbed,
    run_bernoulli_bandit,
    run_gaussian_bandit,
    ucb1_log_coefficient,
    ucb1_regret_bound,
)


def test_expected_max_of_ten_normals():
    assert expected_max_of_normals(10) == pytest.approx(1.5388, abs=1e-4)
    assert expected_max_of_normals(2) == pytest.approx(1 / np.sqrt(np.pi), abs=1e-9)   # closed form for k = 2
    sample = np.random.default_rng(0).standard_normal((200_000, 10)).max(1).mean()
    assert sample == pytest.approx(expected_max_of_normals(10), abs=0.01)


def test_ucb_tries_every_arm_first_then_follows_the_index():
    rng = np.random.default_rng(0)
    q_star = make_testbed(50, 10, rng)
    runs = run_gaussian_bandit(q_star, 10, rng, ucb_c=2.0)
    # the first 10 pulls visit each arm once: rewards are draws around every q*, so their mean is q*'s mean
    assert runs.rewards.shape == (50, 10)
    assert np.mean(runs.regret.sum(1)) == pytest.approx(np.mean(10 * q_star.max(1) - q_star.sum(1)), rel=1e-12)


def test_greedy_lingers_and_epsilon_greedy_explores():
    rng = np.random.default_rng(1)
    q_star = np.tile(np.array([[0.0, 10.0, 0.0]]), (4000, 1))   # arm 1 is obviously best
    greedy = run_gaussian_bandit(q_star, 30, rng, epsilon=0.0)
    eps = run_gaussian_bandit(q_star, 30, rng, epsilon=0.3)
    # ε = 0.3 explores: about 0.3 × 2/3 = 20% of late pulls are suboptimal
    assert eps.optimal[:, 15:].mean() == pytest.approx(0.8, abs=0.02)
    # greedy from Q = 0 keeps pulling a bad arm while its sample mean stays above 0, the others' estimate
    assert 0.5 < greedy.optimal[:, 15:].mean() < 0.95


def test_ucb1_bound_by_hand_and_measured_regret_below_it():
    means = np.array([0.8, 0.6, 0.5])
    n = 1000
    by_hand = 8 * np.log(n) * (1 / 0.2 + 1 / 0.3) + (1 + np.pi ** 2 / 3) * (0.2 + 0.3)
    assert ucb1_regret_bound(means, n) == pytest.approx(by_hand)
    regret = run_bernoulli_bandit(means, 200, n, np.random.default_rng(0))
    steps = np.arange(1, n + 1)
    assert np.all(regret <= ucb1_regret_bound(means, steps))


def test_ucb1_regret_is_logarithmic_and_epsilon_greedy_linear():
    means = np.array([0.8, 0.6, 0.5, 0.4, 0.2])
    n = 10_000
    rng = np.random.default_rng(2)
    ucb = run_bernoulli_bandit(means, 100, n, rng)
    eps = run_bernoulli_bandit(means, 100, n, rng, policy="epsilon_greedy", epsilon=0.1)
    # the local log-log slope over the last decade: ~1 for linear growth, small for logarithmic
    assert np.log(ucb[-1] / ucb[n // 10 - 1]) / np.log(10) < 0.4
    assert np.log(eps[-1] / eps[n // 10 - 1]) / np.log(10) > 0.85
    assert 0 < lai_robbins_rate(means) < (ucb[-1] - ucb[n // 10 - 1]) / np.log(10)   # UCB1 is above the lower bound


def test_schedules():
    t = np.array([0, 50, 100, 200])
    np.testing.assert_allclose(schedules.linear(1.0, 0.1, 100)(t), [1.0, 0.55, 0.1, 0.1])
    np.testing.assert_allclose(schedules.exponential(1.0, 0.0, 50)(t), [1.0, 0.5, 0.25, 0.0625])
    assert schedules.constant(0.1)(7) == 0.1 and np.all(schedules.constant(0.1)(t) == 0.1)


def test_ucb1_log_coefficient_is_the_bound_s_slope_in_ln_n():
    means = np.array([0.8, 0.6, 0.5, 0.4, 0.2])
    bound = ucb1_regret_bound(means, np.array([100, 10_000]))
    assert ucb1_log_coefficient(means) == pytest.approx((bound[1] - bound[0]) / np.log(100), rel=1e-12)
    assert ucb1_log_coefficient(means) == pytest.approx(8 * (1 / 0.2 + 1 / 0.3 + 1 / 0.4 + 1 / 0.6), rel=1e-12)


def test_log_fit_equals_scipy_linregress_on_ln_n():
    from scipy.stats import linregress

    rng = np.random.default_rng(0)
    n = np.arange(100, 10_001)
    regret = 7.0 + 12.0 * np.log(n) + rng.normal(0, 2.0, len(n))
    b, a, r2 = log_fit(n, regret)
    ref = linregress(np.log(n), regret)
    assert (b, a, r2) == pytest.approx((ref.slope, ref.intercept, ref.rvalue ** 2), rel=1e-9)
    assert log_fit(n, 3 - 2 * np.log(n))[2] == pytest.approx(1.0, abs=1e-12)   # an exact log curve: R² = 1


def test_last_decade_loglog_slope_is_the_power_of_a_power_law():
    n = np.arange(1, 10_001)
    for p in (1.0, 0.5, 0.2):
        assert last_decade_loglog_slope(3.0 * n ** p) == pytest.approx(p, rel=1e-12)
    log_curve = 5 * np.log(n + 1)                                   # logarithmic regret: a slope far below 1
    assert last_decade_loglog_slope(log_curve) == pytest.approx(np.log10(np.log(10_001) / np.log(1001)), rel=1e-12)
