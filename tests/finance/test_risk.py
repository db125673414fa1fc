"""VaR / ES formulas vs numerical integration, scipy quantiles and numpy."""
import numpy as np
import pytest
from scipy import integrate, stats

from modelbook.finance import risk


@pytest.mark.parametrize("alpha", [0.95, 0.975, 0.99])
def test_normal_and_t_es_by_integration(alpha):
    mu, sigma = 0.03, 1.4
    var, es = risk.normal(mu, sigma, alpha)
    assert abs(var - stats.norm.ppf(alpha, -mu, sigma)) < 1e-12
    tail = integrate.quad(lambda l: l * stats.norm.pdf(l, -mu, sigma), var, np.inf)[0] / (1 - alpha)
    assert abs(es - tail) < 1e-7
    nu, s = 4.5, 0.9
    var_t, es_t = risk.student_t(nu, mu, s, alpha)
    assert abs(var_t - stats.t.ppf(alpha, nu, -mu, s)) < 1e-10
    tail_t = integrate.quad(lambda l: l * stats.t.pdf(l, nu, -mu, s), var_t, np.inf)[0] / (1 - alpha)
    assert abs(es_t - tail_t) < 1e-7


def test_normal_es975_close_to_var99():
    # the Basel switch: 97.5% ES ≈ 99% VaR for normal returns (2.338σ vs 2.326σ)
    assert abs(risk.normal(0, 1, 0.975)[1] - 2.3378) < 1e-3 and abs(risk.normal(0, 1, 0.99)[0] - 2.3263) < 1e-3


def test_historical_and_rolling():
    r = np.random.default_rng(0).standard_t(4, 3000)
    var, es = risk.historical(r[:1000], 0.99)
    assert var == np.quantile(-r[:1000], 0.99, method="inverted_cdf")
    assert es >= var and abs(es - (-r[:1000])[-r[:1000] >= var].mean()) < 1e-12
    hv, _ = risk.rolling_forecasts(r, 500, 0.99, "historical")
    nv, ne = risk.rolling_forecasts(r, 500, 0.99, "normal")
    w = r[1499:1999]                                          # the window behind day 1999
    assert hv[1499] == risk.historical(w, 0.99)[0]
    assert abs(nv[1499] - risk.normal(w.mean(), w.std(ddof=1), 0.99)[0]) < 1e-10
    tv, _ = risk.rolling_forecasts(r, 500, 0.99, "student_t", nu=4.0)
    assert abs(tv[1499] - risk.student_t(4.0, w.mean(), risk.t_scale_for_std(4.0, w.std(ddof=1)), 0.99)[0]) < 1e-10
    assert abs(stats.t.std(4.0, scale=risk.t_scale_for_std(4.0, 2.0)) - 2.0) < 1e-12
    r2 = r.copy()
    r2[1999] = -50                                            # the forecast for day 1999 never sees day 1999
    assert risk.rolling_forecasts(r2, 500, 0.99, "normal")[0][1499] == nv[1499]
