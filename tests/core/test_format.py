import math

import pytest

from modelbook.core.format import fmt_number


@pytest.mark.parametrize("x, shown", [
    (math.nan, "nan"),
    (0.0, "0"),
    (-0.0, "0"),
    (1.0, "1"),
    (0.123456, "0.1235"),              # four significant figures
    (-12.3456, "-12.35"),
    (99.99, "99.99"),
    (100.0, "100.0"),                  # from 100 on: one decimal, thousands separated
    (1234.56, "1,234.6"),
    (-99_999.94, "-99,999.9"),
    (123_456.0, "1.23e+05"),           # from 1e5 on: three significant figures
    (0.001, "0.001"),
    (0.000123456, "0.000123"),         # below 1e-3: three significant figures
    (1.5e-9, "1.5e-09"),
    (math.inf, "inf"),
])
def test_fmt_number_cases(x, shown):
    assert fmt_number(x) == shown


def test_report_and_terminal_share_one_formatter():
    """The HTML report's `num` filter and the terminal tables format with the same function."""
    from modelbook import views
    from modelbook.report import build

    assert views.fmt_number is build.fmt_number is fmt_number
