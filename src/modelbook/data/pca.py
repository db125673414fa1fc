"""Principal component analysis by eigendecomposition of the covariance matrix, in NumPy float64.

    fit:     μ = mean of the rows of X;  C = cov(X − μ);  C = V Λ Vᵀ (eigh: ascending Λ)
             W = the columns of V for the k largest eigenvalues, largest first      (d × k)
    project: Z = (X − μ) W                                                          (n × k)

Equal to scikit-learn's PCA(k, svd_solver="full") up to the sign of each component (an eigenvector is only
defined up to sign; scikit-learn flips each to a fixed convention, eigh does not). A d × d eigendecomposition
suits d in the hundreds (pixels of a small image); for wide data an SVD of X is cheaper.
"""
from __future__ import annotations

import numpy as np


def pca_fit(x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), components (d, n_components)) of the rows of x, components ordered by variance, largest first."""
    mean = x.mean(0)
    _, vecs = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    return mean, vecs[:, ::-1][:, :n_components]


def pca_project(x: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """The coordinates of the rows of x on the components: (x − mean) @ components."""
    return (x - mean) @ components
