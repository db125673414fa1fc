"""How a measured number is shown to a reader: one rule for the terminal (views.py) and the HTML report."""
from __future__ import annotations


def fmt_number(x: float) -> str:
    """`x` in the notation a reader scans fastest: "nan"; "0"; three significant figures when |x| ≥ 1e5 or
    |x| < 1e-3 (1.23e+05, 0.000123); one decimal with thousands separators when |x| ≥ 100 (1,234.5); four
    significant figures otherwise (0.1235)."""
    if x != x:  # NaN
        return "nan"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:,.1f}"
    return f"{x:.4g}"
