"""Small tabular sets bundled with scikit-learn."""
from __future__ import annotations

import numpy as np

from modelbook.data.card import DataCard


def breast_cancer() -> tuple[np.ndarray, np.ndarray, DataCard]:
    """Wisconsin diagnostic breast cancer: (569, 30) features; label 1 = malignant (212), 0 = benign (357).

    scikit-learn codes benign as 1; we flip it so the positive class is the disease, as a clinician reads it.
    """
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return d.data, (1 - d.target).astype(np.int64), DataCard("breast_cancer (WDBC)", "scikit-learn bundled (UCI)", "CC BY 4.0", len(d.target))


def digits() -> tuple[np.ndarray, np.ndarray, DataCard]:
    """8x8 handwritten digits: (1797, 64) features in 0..16, 10 classes."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data, d.target.astype(np.int64), DataCard("digits", "scikit-learn bundled (UCI optdigits)", "CC BY 4.0", len(d.target))
