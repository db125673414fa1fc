"""SEA stream: the exact error integrals against scipy and Monte Carlo; the learners on it."""
import numpy as np
import pytest
from scipy import stats

from modelbook.continual import streams as S


def test_sum_cdf_is_scipys_triangular_distribution():
    s = np.linspace(-1, 21, 89)
    np.testing.assert_allclose(S.sum_cdf(s), stats.triang(c=0.5, loc=0, scale=20).cdf(s), atol=1e-12)


@pytest.mark.parametrize("rule,concept", [(8, 9), (9, 7), (7, 9.5), (8, 8)])
def test_rule_error_matches_monte_carlo(rule, concept):
    rng = np.random.default_rng(0)
    st = S.sea_stream(rng, 1, 400_000, thetas=(concept,), noise=0.1)
    pred = (st.x[0, :, 0] + st.x[0, :, 1] <= rule).astype(int)
    err = (pred != st.y[0]).mean()
    exact = S.rule_error(rule, concept, 0.1)
    assert abs(err - exact) < 4 * np.sqrt(exact * (1 - exact) / 400_000)


def test_integral_of_a_linear_rule_equals_the_closed_form_and_monte_carlo():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, (400_000, 3))
    coef, icpt = np.array([-1.1, -0.9, 0.05]), 0.2
    rule = (((x - 5) / 5) @ coef + icpt) > 0
    err_mc = 0.1 + 0.8 * (rule != (x[:, 0] + x[:, 1] <= 9)).mean()
    assert S.linear_rule_error(coef, icpt, 9, 0.1) == pytest.approx(err_mc, abs=4 * np.sqrt(0.2 * 0.8 / 400_000))
    assert S.linear_rule_error([-1.0, -1.0, 0.0], -0.4, 8, 0.1) == pytest.approx(S.rule_error(8, 8, 0.1), abs=1e-4)
    for rule, concept in [(8, 9), (9, 7), (7, 9.5)]:
        # x1 + x2 < rule  <=>  −z1 − z2 + (rule − 10)/5 > 0 with z = (x − 5)/5
        grid = S.linear_rule_error([-1.0, -1.0, 0.0], (rule - 10) / 5, concept, 0.1)
        assert grid == pytest.approx(S.rule_error(rule, concept, 0.1), abs=1e-4)


def test_online_learner_tracks_and_static_model_does_not():
    st = S.sea_stream(np.random.default_rng(1), 4, 3000)
    online = S.online_logistic(st, 0.05)
    static, models = S.static_errors(st, 500)
    last = slice(3 * 3000 + 1500, None)                    # second half of concept 9.5
    assert 1 - online[:, last].mean() > 0.86
    assert 1 - static[:, last].mean() < 1 - online[:, last].mean() - 0.04
    assert len(models) == 4 and st.drift_points == (3000, 6000, 9000)
