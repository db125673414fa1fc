"""Interleaved timing ratios and the order-statistic interval for their median (compression/speedup.py)."""
import numpy as np
import pytest
from scipy.stats import quantile_test

from modelbook.compression.speedup import interleaved_ratios, median_interval


# every pair but (6, 0.99): 6 values cannot give a 99% interval for a median (2/64 > 1%), a refusal tested below
@pytest.mark.parametrize("n, confidence", [(n, c) for n in (6, 9, 21, 40, 41, 101) for c in (0.9, 0.95, 0.99) if (n, c) != (6, 0.99)])
def test_median_interval_equals_scipy_quantile_test(n, confidence):
    values = np.random.default_rng(n).lognormal(size=n).tolist()
    median, lo, hi = median_interval(values, confidence)
    ci = quantile_test(np.array(values), q=float(np.median(values)), p=0.5).confidence_interval(confidence)
    assert median == pytest.approx(float(np.median(values)))
    assert (lo, hi) == (float(ci.low), float(ci.high))


def test_median_interval_covers_the_median_as_often_as_promised():
    """Coverage by simulation (an independent check of the binomial arithmetic): skewed ratios, known median."""
    rng = np.random.default_rng(0)
    hits = sum(lo <= 1.5 <= hi for _, lo, hi in (median_interval((1.5 * rng.lognormal(0, 0.3, 31)).tolist(), 0.95)
                                                 for _ in range(2000)))
    assert 0.95 <= hits / 2000 <= 0.985  # exact coverage of the j-th order statistics for n = 31: 0.971


def test_median_interval_refuses_too_few_values():
    with pytest.raises(ValueError):
        median_interval([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.99)


def test_interleaved_ratios_alternate_the_order():
    calls = []
    ratios = interleaved_ratios(lambda: calls.append("a"), lambda: calls.append("b"), pairs=4, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(ratios) == 4 and all(r > 0 for r in ratios)


def test_interleaved_ratios_attribute_each_time_to_its_call():
    """A fake clock that a-calls advance by 3 units and b-calls by 1: every ratio is 3, whichever runs first."""
    now = [0.0]

    def tick(dt):
        now[0] += dt
    ratios = interleaved_ratios(lambda: tick(3.0), lambda: tick(1.0), pairs=6, warmup=0, clock=lambda: now[0])
    assert ratios == [3.0] * 6
