"""GARCH(1,1): our likelihood and fit vs the arch package on the same returns."""
import numpy as np
import pytest

from modelbook.data.markets import sp500_returns
from modelbook.finance import garch
from tests.conftest import pinned


def _arch_fit(r):
    arch = pinned("arch")
    return arch.arch_model(r, mean="Constant", vol="GARCH", p=1, q=1, dist="normal").fit(disp="off")


@pytest.mark.parametrize("part", [slice(None), slice(0, 1000), slice(1500, None)])
def test_loglik_and_fit_equal_arch(part):
    r = sp500_returns()[0][part] * 100
    am = _arch_fit(r)
    ref = am.params.to_numpy()
    # the same function: our ℓ at arch's estimates is arch's ℓ (tolerance: float summation order)
    assert abs(garch.loglik(ref, r) - am.loglikelihood) < 1e-6
    # the same maximum: parameters within 1e-3 relative (two SLSQP runs stop at slightly different points), ℓ ≥ arch's
    f = garch.fit(r)
    assert np.max(np.abs(f.params - ref) / np.abs(ref)) < 1e-3
    assert f.loglik >= am.loglikelihood - 1e-4
    assert f.persistence < 1


def test_conditional_variance_equals_arch_and_the_loop():
    r = sp500_returns()[0][:800] * 100
    am = _arch_fit(r)
    mu, omega, alpha, beta = am.params.to_numpy()
    eps = r - mu
    bc = garch.backcast(r - r.mean())
    s2 = garch.conditional_variance(eps, omega, alpha, beta, bc)
    assert np.allclose(s2, am.conditional_volatility ** 2, rtol=1e-10)
    loop = np.empty_like(eps)                                    # the recursion written out
    prev_e2, prev_s2 = bc, bc
    for t, e in enumerate(eps):
        loop[t] = omega + alpha * prev_e2 + beta * prev_s2
        prev_e2, prev_s2 = e * e, loop[t]
    assert np.allclose(s2, loop, rtol=1e-12)


def test_filter_continues_the_recursion_without_peeking():
    r = sp500_returns()[0][:1200] * 100
    f = garch.fit(r[:1000])
    s2 = garch.filter_variance(f, r[:1000], r[1000:])
    full = garch.conditional_variance(r - f.mu, f.omega, f.alpha, f.beta, f.backcast)
    assert np.allclose(s2, full[1000:])
    # changing a later return never changes an earlier forecast
    r2 = r.copy()
    r2[1100] += 50
    assert np.array_equal(garch.filter_variance(f, r[:1000], r2[1000:])[:101], s2[:101])


def test_bite_a_wrong_recursion_breaks_the_equality():
    r = sp500_returns()[0][:1000] * 100
    am = _arch_fit(r)
    mu, omega, alpha, beta = am.params.to_numpy()
    swapped = garch.loglik((mu, omega, beta, alpha), r)          # α and β swapped: a different model
    assert abs(swapped - am.loglikelihood) > 1.0
