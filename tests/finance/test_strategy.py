"""Walk-forward hygiene, Sharpe ratio statistics and the deflated Sharpe ratio's expected maximum."""
import numpy as np
from scipy import integrate, stats

from modelbook.finance import strategy


def test_walk_forward_never_fits_on_an_unknown_target():
    n = 300
    X, y = np.arange(n, dtype=float)[:, None], np.arange(n, dtype=float)
    seen = []

    def fp(Xtr, ytr, Xte):
        seen.append((Xtr[:, 0].max(), Xte[:, 0].min()))
        return np.zeros(len(Xte))

    strategy.walk_forward(X, y, start=100, train_window=50, refit_every=20, fit_predict=fp)
    # row t's target is r_{t+1}: a block predicted at the close of day t0 may fit rows up to t0 − 1 (target r_{t0})
    assert seen and all(last_fit + 1 <= first_pred for last_fit, first_pred in seen)


def test_net_returns_charge_turnover():
    pos = np.array([1, 1, -1, -1, 0])
    r = np.array([0.01, -0.02, 0.03, 0.0, 0.05])
    gross, net = strategy.net_returns(pos, r, 0.001)
    assert np.allclose(gross, pos * r)
    assert np.allclose(gross - net, 0.001 * np.array([1, 0, 2, 0, 1]))


def test_expected_max_formula_vs_exact_and_sharpe_se_vs_simulation():
    for n in (10, 21, 100):
        exact = integrate.quad(lambda x: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1), -10, 10)[0]
        assert abs(strategy.expected_max_sharpe(n, 1.0) / exact - 1) < 0.03     # Bailey's approximation, within 3%
    rng = np.random.default_rng(0)
    T = 500
    sims = rng.standard_normal((4000, T)) * 0.01 + 0.001       # true per-period SR = 0.1
    srs = sims.mean(1) / sims.std(1, ddof=1)
    assert abs(srs.std() / strategy.sharpe_se(0.1, T) - 1) < 0.05


def test_deflation_lowers_psr():
    rng = np.random.default_rng(2)
    r = rng.standard_normal(1000) * 0.01 + 0.0008
    psr = strategy.probabilistic_sharpe(r)
    dsr, sr0 = strategy.deflated_sharpe(r, 50, (1 / np.sqrt(1000)) ** 2)
    assert sr0 > 0 and dsr < psr
    assert strategy.deflated_sharpe(r, 1, 1e-3)[0] == psr      # one trial: nothing to deflate
