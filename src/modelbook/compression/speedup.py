"""A speed-up measured so that it can be checked on a shared, noisy machine: interleaved timings, the
median of the per-pair ratios, and a distribution-free confidence interval for that median.

Timing the dense model n times and then the pruned one n times lets a busy spell (another process, a
frequency change) land on one side only. Here the two calls alternate, a then b, then b then a (ABBA, so
neither always runs second, in a warm cache), and each adjacent pair gives one ratio r_i = t_a / t_b: load
that lasts longer than a pair slows both of its calls alike and cancels in the ratio. Load that hits one call
of a pair makes an outlier, which the median ignores, as long as such pairs stay a minority. On a heavily
loaded machine they do not (a call of a few ms waits for a core more often than not), so the clock can be
the process's CPU time (time.process_time): the work done, without the waits.

The interval is the classical order-statistic (sign-test) interval for a median: with the ratios sorted,
r_(1) ≤ ... ≤ r_(n), the number of ratios below the true median is Binomial(n, 1/2) whatever their
distribution, so [r_(j), r_(n+1−j)] covers the median with probability 1 − 2·P(Bin(n, ½) ≤ j − 1); j is the
largest index that keeps this at least the requested confidence (equal to scipy.stats.quantile_test's
confidence_interval, tests/compression/test_speedup.py). No normality, no bootstrap resampling noise.
"""
from __future__ import annotations

import statistics
import time
from math import comb
from typing import Callable


def interleaved_ratios(fn_a: Callable[[], object], fn_b: Callable[[], object], pairs: int, warmup: int = 2,
                       clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """t_a / t_b for `pairs` adjacent pairs of calls, the order alternating a-b, b-a (after `warmup` untimed
    calls of each). clock=time.process_time counts the CPU time of this process only: time spent waiting for
    a core while other processes run is left out, which wall time (the default) includes."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    ratios = []
    for i in range(pairs):
        first, second = (fn_a, fn_b) if i % 2 == 0 else (fn_b, fn_a)
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        ta, tb = (t1 - t0, t2 - t1) if i % 2 == 0 else (t2 - t1, t1 - t0)
        ratios.append(ta / tb)
    return ratios


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(median, low, high): the sample median and the order-statistic confidence interval for the median."""
    n = len(values)
    if n < 6:
        raise ValueError(f"a {confidence:.0%} interval for a median needs at least 6 values, got {n}")
    xs = sorted(values)
    alpha = 1 - confidence
    if 2 / 2 ** n > alpha:  # even (min, max) misses the median with probability 2 / 2^n
        raise ValueError(f"{n} values cannot give a {confidence:.0%} interval for a median: the widest, min to max, "
                         f"covers it with probability {1 - 2 / 2 ** n:.1%}")
    # largest j with 2·P(Bin(n, ½) ≤ j − 1) ≤ α (at least 1: the interval never goes past the extremes)
    j, tail = 1, comb(n, 0) / 2 ** n  # tail = P(Bin ≤ j − 1)
    while 2 * (tail + comb(n, j) / 2 ** n) <= alpha:
        tail += comb(n, j) / 2 ** n
        j += 1
    return statistics.median(xs), xs[j - 1], xs[n - j]


def forward_speedup(dense, small, batch, pairs: int, warmup: int, confidence: float) -> tuple[float, float, float]:
    """(median, low, high) of t_dense / t_small over `pairs` interleaved forward passes on `batch` (eval mode, no grad),
    with the order-statistic interval for the median. t is CPU time of this process (one thread): on a shared
    machine wall time also counts the waits for a core, which land on one call of a pair at random; with the load
    average at 7 on 2 cores they pulled the interval's low end under 1 for a 3x faster model."""
    import torch

    dense.eval(), small.eval()
    with torch.no_grad():
        ratios = interleaved_ratios(lambda: dense(batch), lambda: small(batch), pairs, warmup=warmup, clock=time.process_time)
    return median_interval(ratios, confidence)
