"""Secure aggregation: masks cancel exactly in the sum; each masked upload is indistinguishable from uniform
noise (χ² on its top byte, correlation with the clear value)."""
import numpy as np
import pytest
from scipy.stats import chisquare

from modelbook.privacy import secure_agg as sa


def test_fixed_point_roundtrip():
    x = np.array([0.0, -1.5, 3.25, -1e-9, 1e6])
    np.testing.assert_allclose(sa.decode(sa.encode(x)), x, atol=2 ** -33)


@pytest.fixture(scope="module")
def round_data():
    rng = np.random.default_rng(0)
    clients = sa.setup(6, rng)
    vectors = [rng.normal(size=20_000) * 0.1 for _ in clients]
    masked = [c.mask(v, round_id=3) for c, v in zip(clients, vectors)]
    return clients, vectors, masked


def test_masks_cancel_exactly(round_data):
    clients, vectors, masked = round_data
    total = np.zeros(len(vectors[0]), dtype=np.uint64)
    for y in masked:
        total = total + y
    clear = np.zeros_like(total)
    for v in vectors:
        clear = clear + sa.encode(v)
    assert np.array_equal(total, clear)                                   # exact in Z_2^64
    np.testing.assert_allclose(sa.server_sum(masked), np.sum(vectors, 0), atol=6 * 2 ** -32)


def test_masked_uploads_look_uniform(round_data):
    clients, vectors, masked = round_data
    for v, y in zip(vectors, masked):
        top = (y >> np.uint64(56)).astype(np.int64)
        assert chisquare(np.bincount(top, minlength=256)).pvalue > 1e-6   # false alarm rate 1e-6
        r = np.corrcoef(y.view(np.int64).astype(float), v)[0, 1]
        assert abs(r) < 6 / np.sqrt(len(v))
        clear_top = (sa.encode(v) >> np.uint64(56)).astype(np.int64)
        assert chisquare(np.bincount(clear_top, minlength=256)).pvalue < 1e-12  # unmasked: all 0x00 or 0xFF


def test_a_subset_of_participants_still_cancels(round_data):
    clients, vectors, _ = round_data
    part = [clients[i] for i in (0, 2, 5)]
    got = sa.secure_weighted_mean(part, [vectors[i] for i in (0, 2, 5)], [1.0, 2.0, 3.0], round_id=9)
    expected = (vectors[0] + 2 * vectors[2] + 3 * vectors[5]) / 6
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_masks_change_every_round_and_pairs_agree():
    clients = sa.setup(3, np.random.default_rng(1))
    assert not np.array_equal(clients[0].mask(np.zeros(8), 0), clients[0].mask(np.zeros(8), 1))
    assert clients[0]._seeds[1] == clients[1]._seeds[0] != clients[0]._seeds[2]
    fresh = sa.setup(2)  # OS randomness: still cancels
    s = fresh[0].mask(np.ones(4), 0) + fresh[1].mask(np.ones(4), 0)
    np.testing.assert_allclose(sa.decode(s), 2.0)
