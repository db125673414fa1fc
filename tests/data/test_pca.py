"""PCA by eigendecomposition equals scikit-learn's PCA on the same rows, up to the sign of each component."""
import numpy as np
from sklearn.decomposition import PCA

from modelbook.data.pca import pca_fit, pca_project


def _data():
    rng = np.random.default_rng(0)
    scales = np.geomspace(10.0, 0.1, 30)  # well separated variances: each component is well defined
    return rng.normal(size=(500, 30)) * scales @ np.linalg.qr(rng.normal(size=(30, 30)))[0] + rng.normal(size=30)


def test_pca_matches_sklearn_up_to_sign():
    x = _data()
    mean, comps = pca_fit(x, 8)
    ref = PCA(8, svd_solver="full").fit(x)
    assert comps.shape == (30, 8)
    np.testing.assert_allclose(mean, ref.mean_, rtol=0, atol=1e-12)
    signs = np.sign((comps * ref.components_.T).sum(0))
    np.testing.assert_allclose(comps * signs, ref.components_.T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(pca_project(x, mean, comps) * signs, ref.transform(x), rtol=0, atol=1e-8)
    # the variance along each component, largest first, is the explained variance
    np.testing.assert_allclose(pca_project(x, mean, comps).var(0, ddof=1), ref.explained_variance_, rtol=1e-9)


def test_pca_components_are_orthonormal():
    _, comps = pca_fit(_data(), 30)
    np.testing.assert_allclose(comps.T @ comps, np.eye(30), atol=1e-12)
