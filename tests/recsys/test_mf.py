"""Biased SVD by SGD and biased ALS against scikit-surprise's SVD on the same temporal split."""
import numpy as np
import pytest
import torch

from modelbook.data.ratings import movielens_ratings
from modelbook.recsys.mf import ALS, SGDSVD, Baseline, _ridge_side, rmse, surprise_svd
from modelbook.recsys.splits import Ratings, subsample, temporal_split

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def split():
    u, i, r, t, _ = movielens_ratings()
    data, _ = subsample(Ratings(u, i, r, t, int(u.max()) + 1, int(i.max()) + 1), 200, 300, np.random.default_rng(3))
    return temporal_split(data)


def test_sgd_svd_and_als_match_surprise_on_the_same_split(split):
    train, test = split
    ref = surprise_svd(train, test, seed=0, n_factors=20)
    assert abs(rmse(SGDSVD(20, seed=0).fit(train), test) - ref) < 0.02
    assert abs(rmse(ALS(10, 8, 0.2, seed=0).fit(train), test) - ref) < 0.02
    # bite: an untrained model (lr = 0: random factors, zero biases) is far from Surprise
    assert rmse(SGDSVD(20, lr=0.0).fit(train), test) > ref + 0.05


def test_sgd_batch_of_one_is_the_per_rating_update():
    """One rating, one step, by hand: e = r − r̂, then the four updates of Surprise's SVD.fit."""
    r = Ratings(np.array([0]), np.array([1]), np.array([4.0]), np.array([0]), 1, 2)
    m = SGDSVD(3, n_epochs=1, lr=0.1, reg=0.5, batch=1, seed=1)
    rng = np.random.default_rng(1)
    P0, Q0 = rng.normal(0, 0.1, (1, 3)), rng.normal(0, 0.1, (2, 3))
    m.fit(r)
    e = 4.0 - (4.0 + P0[0] @ Q0[1])                                   # μ = 4, biases 0
    np.testing.assert_allclose(m.bu[0], 0.1 * e)
    np.testing.assert_allclose(m.P[0], P0[0] + 0.1 * (e * Q0[1] - 0.5 * P0[0]))
    np.testing.assert_allclose(m.Q[1], Q0[1] + 0.1 * (e * P0[0] - 0.5 * Q0[1]))
    np.testing.assert_allclose(m.Q[0], Q0[0])                         # an item not rated is untouched


def test_als_side_is_each_rows_ridge_regression():
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 4, 40), rng.integers(0, 6, 40)
    y, X = rng.normal(size=40), torch.from_numpy(rng.normal(size=(6, 3)))
    W = _ridge_side(rows, cols, y, X, 4, reg=0.3).numpy()
    for r in range(4):
        A = X.numpy()[cols[rows == r]]
        n = max((rows == r).sum(), 1)
        np.testing.assert_allclose(W[r], np.linalg.solve(A.T @ A + 0.3 * n * np.eye(3), A.T @ y[rows == r]), atol=1e-10)


def test_baseline_has_no_factors(split):
    train, test = split
    b = Baseline().fit(train)
    assert b.P.shape[1] == 0 and rmse(b, test) < 1.0
