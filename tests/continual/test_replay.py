"""Reservoir sampling keeps every item with probability capacity / n (chi-square), a first-come buffer does not."""
import numpy as np
import pytest
from scipy import stats

from modelbook.continual.replay import ReservoirBuffer


def _counts(keep_first=False, trials=3000, n=40, capacity=8):
    rng = np.random.default_rng(0)
    counts = np.zeros(n)
    for _ in range(trials):
        buf = ReservoirBuffer(capacity, rng)
        if keep_first:
            buf.items = list(range(capacity))
        else:
            buf.extend(range(n))
        counts[buf.items] += 1
    return counts


def test_inclusion_is_uniform():
    counts = _counts()
    assert counts.sum() == 3000 * 8
    assert stats.chisquare(counts).pvalue > 1e-3


def test_bite_first_come_buffer_fails_the_same_test():
    assert stats.chisquare(_counts(keep_first=True) + 1e-9).pvalue < 1e-6


def test_sample_and_bad_capacity():
    buf = ReservoirBuffer(5, np.random.default_rng(1))
    buf.extend([10, 11, 12])
    assert len(buf) == 3 and set(buf.sample(50)) <= {10, 11, 12}
    with pytest.raises(ValueError, match="at least 1"):
        ReservoirBuffer(0, np.random.default_rng(0))
