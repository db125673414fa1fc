"""T-/X-learners, PEHE and the Qini curve against brute-force and exact cases."""
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from modelbook.medical import uplift


def _qini_brute(score, t, y):
    order = np.argsort(-score, kind="stable")
    q = [0.0]
    for k in range(1, len(score) + 1):
        top = order[:k]
        nt, nc = t[top].sum(), (~t[top]).sum()
        yt, yc = y[top][t[top]].sum(), y[top][~t[top]].sum()
        q.append(yt - yc * nt / nc if nc else yt)
    return np.array(q)


def test_qini_curve_equals_brute_force_for_distinct_scores():
    rng = np.random.default_rng(0)
    s, t, y = rng.normal(size=60), rng.random(60) < 0.5, rng.normal(size=60)
    k, q = uplift.qini_curve(s, t, y)
    assert k.tolist() == list(range(61))
    assert np.allclose(q, _qini_brute(s, t, y))


def test_constant_score_is_the_random_line():
    rng = np.random.default_rng(1)
    t, y = rng.random(80) < 0.5, rng.normal(size=80)
    assert uplift.qini_coefficient(np.zeros(80), t, y) == pytest.approx(0.0, abs=1e-12)


def test_perfect_ranking_beats_random_and_reversed():
    rng = np.random.default_rng(2)
    n = 4000
    tau = rng.normal(size=n)
    t = rng.random(n) < 0.5
    y = t * tau + rng.normal(0, 0.1, n)
    good, bad = uplift.qini_coefficient(tau, t, y), uplift.qini_coefficient(-tau, t, y)
    assert good > 0.1 and bad < -0.1


def test_learners_recover_a_linear_effect_exactly_without_noise():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    tau = 1.0 + 2.0 * X[:, 0]
    t = rng.random(300) < 1 / (1 + np.exp(-X[:, 1]))
    y = X @ [0.5, -1.0, 2.0] + t * tau
    for est in (uplift.t_learner(X, t, y, LinearRegression),
                uplift.x_learner(X, t, y, LinearRegression, lambda Z: np.full(len(Z), 0.3))):
        assert uplift.pehe(est(X), tau) < 1e-9
    assert uplift.naive_effect(t, y) != pytest.approx(tau.mean(), abs=0.1)   # confounded: the naive estimate is biased


def test_bite_x_learner_with_swapped_imputations_is_wrong():
    """Fitting τ̂₁ on the controls' imputed effects (a swap) breaks the X-learner on a non-linear surface."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 2))
    tau = 1.0 + X[:, 0]
    t = rng.random(400) < 0.3
    y = X[:, 1] + t * tau
    good = uplift.x_learner(X, t, y, LinearRegression, lambda Z: np.full(len(Z), 0.3))(X)
    m1 = LinearRegression().fit(X[t], y[t])
    wrong = LinearRegression().fit(X[t], y[t] - m1.predict(X[t])).predict(X)      # imputes against its own arm's model
    assert uplift.pehe(good, tau) < 1e-9 < 0.5 < uplift.pehe(wrong, tau)
