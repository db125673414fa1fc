"""RDP accountant vs Opacus: the golden value, the per-order RDP curve, ε over settings, the noise search."""
import warnings

import numpy as np
import pytest

from modelbook.privacy import accountant


def test_golden_value_of_opacus():
    # opacus 1.6 tests/accountants_test.py: sigma 1.5, q 0.04, int(90/0.04) steps, delta 1e-5 -> assertAlmostEqual(7.32911117143)
    assert accountant.epsilon(1.5, 0.04, 2250, 1e-5) == pytest.approx(7.32911117143, abs=5e-8)
    acc = accountant.RDPAccountant()
    acc.step(1.5, 0.04, n=1000)
    acc.step(1.5, 0.04, n=1250)
    assert len(acc.history) == 1 and acc.get_epsilon(1e-5) == pytest.approx(7.32911117143, abs=5e-8)


def test_quadrature_equals_the_binomial_formula_at_integer_orders():
    for q, sigma in [(0.01, 0.7), (0.04, 1.5), (0.2, 3.0)]:
        for alpha in (2, 5, 17, 63):
            exact = accountant._log_a_integer(q, sigma, alpha)
            assert accountant._log_a_quadrature(q, sigma, alpha) == pytest.approx(exact, rel=1e-9, abs=1e-13)


@pytest.fixture(scope="module")
def opacus_rdp():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants.analysis import rdp
    return rdp


@pytest.mark.parametrize("q, sigma", [(0.004, 0.7), (0.01, 1.1), (0.04, 1.5), (0.25, 4.0), (0.02, 0.5), (1.0, 2.0)])
def test_rdp_curve_matches_opacus(opacus_rdp, q, sigma):
    orders = list(accountant.DEFAULT_ORDERS)
    ours = accountant.rdp_sampled_gaussian(q, sigma, orders)
    theirs = np.asarray(opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=orders))
    # Opacus stops its fractional-order series at terms below e^-30: agreement to ~1e-8 relative
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-14)


@pytest.mark.parametrize("sigma, q, steps", [(1.3, 0.004, 3750), (1.1, 0.004, 15000), (0.7, 0.004, 11250), (2.0, 0.1, 500)])
def test_epsilon_matches_opacus_accountant(sigma, q, steps):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants import RDPAccountant

        theirs = RDPAccountant()
        theirs.history = [(sigma, q, steps)]
        eps_theirs = theirs.get_epsilon(delta=1e-5)
    assert accountant.epsilon(sigma, q, steps, 1e-5) == pytest.approx(eps_theirs, rel=1e-7)


def test_classic_conversion_is_looser():
    rdp = 3750 * accountant.rdp_sampled_gaussian(0.004, 1.3)
    tight, _ = accountant.epsilon_from_rdp(rdp, 1e-5)
    classic, _ = accountant.epsilon_from_rdp(rdp, 1e-5, conversion="classic")
    assert tight < classic
    with pytest.raises(ValueError):
        accountant.epsilon_from_rdp(rdp, 1e-5, conversion="naive")


def test_noise_multiplier_search():
    sigma = accountant.noise_multiplier_for(2.0, 0.01, 1000, 1e-5)
    assert accountant.epsilon(sigma, 0.01, 1000, 1e-5) <= 2.0 < accountant.epsilon(sigma * 0.999, 0.01, 1000, 1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants.utils import get_noise_multiplier

        theirs = get_noise_multiplier(target_epsilon=2.0, target_delta=1e-5, sample_rate=0.01, steps=1000, accountant="rdp")
    assert sigma <= theirs and accountant.epsilon(theirs, 0.01, 1000, 1e-5) <= 2.0  # Opacus stops within 0.01 of ε


def test_edge_cases():
    assert np.all(accountant.rdp_sampled_gaussian(0.0, 1.0) == 0)
    assert np.all(np.isinf(accountant.rdp_sampled_gaussian(0.1, 0.0)))
    assert accountant.RDPAccountant().get_epsilon(1e-5) == 0.0
