"""CKKS encrypted logistic regression (TenSEAL) equals the plaintext computation within tolerance."""
import numpy as np
import pytest

from modelbook.privacy import he
from tests.conftest import pinned

pinned("tenseal")


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 30))
    w, b = rng.normal(size=30) * 0.3, 0.2
    return X, w, b


def test_per_sample_logits_equal_plaintext(problem):
    X, w, b = problem
    logits, seconds, size = he.logits_per_sample(he.context(), X[:6], w, b)
    np.testing.assert_allclose(logits, X[:6] @ w + b, atol=1e-3)
    assert seconds > 0 and size > 10_000


def test_batched_logits_and_cubic_sigmoid_equal_plaintext(problem):
    X, w, b = problem
    z, _ = he.scores_batched(he.context(galois_keys=False), X, w, b)
    np.testing.assert_allclose(z, X @ w + b, atol=1e-3)
    poly = he.sigmoid_poly(6.0)
    ctx = he.context(coeff_mod_bit_sizes=(60, 40, 40, 40, 38), galois_keys=False)
    p, _ = he.scores_batched(ctx, X, w, b, poly)
    np.testing.assert_allclose(p, np.polynomial.polynomial.polyval(X @ w + b, poly), atol=1e-3)


def test_sigmoid_poly_reproduces_the_published_cubic():
    # Kim et al. 2018 (iDASH, HE logistic regression): least-squares cubic on [-8, 8] = 0.5 + 0.15012 x - 0.001593 x^3
    poly = he.sigmoid_poly(8.0)
    np.testing.assert_allclose(poly, [0.5, 0.15012, 0.0, -0.001593], atol=2e-6)
    z = np.linspace(-8, 8, 101)
    assert np.abs(np.polynomial.polynomial.polyval(z, poly) - 1 / (1 + np.exp(-z))).max() < 0.12
