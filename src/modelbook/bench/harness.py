"""What every benchmark shares: interleaved repeats, paired ratios with their spread, and the fitted exponent.

Timing on a shared machine is noisy, so a benchmark never reports an absolute time as its result. The variants
being compared run in one process, on the same inputs, interleaved (a, b, c, a, b, c, ...), so a burst of load
from elsewhere hits them all alike; each repeat gives one ratio a_i / b_i, and we report the median of those
ratios with their interquartile range (q25–q75) and their min–max. Where a benchmark has a size axis (sequence
length, nodes, batch), it also reports how the cost grows: the least-squares slope of log(median time) against
log(size) over at least three sizes, e.g. ≈ 2 for naive attention in T.

A benchmark's record is a LabResult (lab = "bench-<name>"), so the results store, `modelbook results` and the
report keep and show it like a lab run. Metric names follow one convention, which the table printer reads:
    "<label> @<size>"       unit RATIO   median of the paired ratios of times (q25, q75, min, max: "<...> q25" etc.)
    "exponent <label>"      unit SLOPE   fitted log-log slope
Every ratio is a ratio of times, ours (or the variant) over the other: < 1 means ours is faster.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Callable

from modelbook.core.result import LabResult

RATIO, SLOPE = "ratio", "slope"
SPREAD = ("q25", "q75", "min", "max")


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Wall times (s) of each fn over `repeats` rounds; in each round every fn runs once, in turn."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def spread(xs: list[float]) -> dict[str, float]:
    """median, q25, q75 (inclusive quantiles), min and max of `xs`."""
    xs = sorted(xs)
    if len(xs) == 1:
        q25 = q75 = xs[0]
    else:
        q25, _, q75 = statistics.quantiles(xs, n=4, method="inclusive")
    return {"median": statistics.median(xs), "q25": q25, "q75": q75, "min": xs[0], "max": xs[-1]}


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """a_i / b_i for each interleaved repeat i."""
    return [x / y for x, y in zip(a, b)]


def loglog_slope(sizes: list[float], values: list[float]) -> float:
    """Least-squares slope of log(value) against log(size): the exponent k in value ∝ size^k."""
    if len(sizes) < 3:
        raise ValueError("an exponent needs at least three sizes")
    xs, ys = [math.log(s) for s in sizes], [math.log(v) for v in values]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


class Bench:
    """A benchmark's record under construction: ratios, exponents and checks go into `result` (a LabResult)."""

    def __init__(self, name: str, quick: bool, params: dict):
        self.result = LabResult(lab=f"bench-{name}", config=dict(params), preset="quick" if quick else "full")

    def ratio(self, label: str, size: str, a: list[float], b: list[float]) -> float:
        """Record median(a_i / b_i) over interleaved repeats as "<label> @<size>", with its spread."""
        s = spread(paired_ratios(a, b))
        name = f"{label} @{size}"
        self.result.metric(name, s["median"], RATIO, volatile=True)
        for key in SPREAD:
            self.result.metric(f"{name} {key}", s[key], RATIO, volatile=True)
        return s["median"]

    def exponent(self, label: str, sizes: list[float], values: list[float], volatile: bool = True) -> float:
        """Record the fitted exponent of `values` against `sizes` as "exponent <label>"."""
        k = loglog_slope(sizes, values)
        self.result.metric(f"exponent {label}", k, SLOPE, volatile=volatile)
        return k

    def value(self, name: str, value: float, unit: str = "", volatile: bool = True) -> float:
        return self.result.metric(name, value, unit, volatile)

    def within(self, name: str, measured: float, lo: float, hi: float, source: str, note: str = "") -> None:
        """A check that `measured` lies in [lo, hi]."""
        self.result.check(name, measured, reference=(lo + hi) / 2, tolerance=(hi - lo) / 2, source=source, note=note)

    def at_most(self, name: str, measured: float, bound: float, source: str, note: str = "") -> None:
        self.result.check(name, measured, reference=bound, tolerance=0.0, kind="at_most", source=source, note=note)

    def note(self, text: str) -> None:
        self.result.note(text)


def table_rows(result: LabResult) -> list[tuple[str, str, str, str, str]]:
    """(comparison, size, median ratio, q25–q75, min–max) for each ratio of a stored bench result, then
    (exponent label, "", slope, "", "") for each fitted exponent."""
    values = {m.name: m.value for m in result.metrics}
    rows = []
    for m in result.metrics:
        if m.unit == RATIO and not m.name.endswith(tuple(f" {k}" for k in SPREAD)):
            label, _, size = m.name.rpartition(" @")
            g = lambda k: values.get(f"{m.name} {k}", math.nan)
            rows.append((label, size, f"{m.value:.3g}", f"{g('q25'):.3g}–{g('q75'):.3g}", f"{g('min'):.3g}–{g('max'):.3g}"))
    for m in result.metrics:
        if m.unit == SLOPE:
            rows.append((m.name, "", f"{m.value:.2f}", "", ""))
    return rows
