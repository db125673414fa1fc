"""Measuring on a CPU: peak tensor memory of a call, and side-by-side timings reported as ratios.

Peak memory: PyTorch has no max_memory_allocated() for CPU, so we run the call under the profiler with
profile_memory=True, take every allocation/free event in time order, and return the highest running total
of live tensor bytes (tensors that existed before the call do not count). It sees tensor storage only,
not Python objects or allocator caching, which is what "memory of the algorithm" means here. `memory_marks`
also reads that running total at named moments inside the call (`mark("after backward")`).

Timing: machines are shared and noisy, so `time_ratio` times two functions interleaved, repeats, and
reports medians and their ratio; tests never assert speedups (the CPU in CI may differ).
"""
from __future__ import annotations

import contextlib
import statistics
import time
from typing import Callable


def peak_memory_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes of tensor memory allocated while `fn()` runs, above what was live before it."""
    return memory_marks(fn)[0]


MARK = "mark:"   # prefix of the record_function names that memory_marks reads


def mark(name: str) -> None:
    """Note the current moment, under `name`, for memory_marks (an empty profiler range; allocates nothing)."""
    from torch.profiler import record_function

    with record_function(MARK + name):
        pass


def memory_marks(fn: Callable[[], object]) -> tuple[int, dict[str, int]]:
    """peak_memory_bytes(fn) and, for each `mark(name)` fn calls, the tensor bytes live at that moment (above what
    was live before fn; a name marked twice keeps its last moment). Same running total as peak_memory_bytes."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    live = peak = 0
    marks = {}
    for e in events:  # self usage: allocations an op made itself (+) and frees outside any op (−)
        if e.name.startswith(MARK):
            marks[e.name[len(MARK):]] = int(live)
        live += e.self_cpu_memory_usage
        peak = max(peak, live)
    return int(peak), marks


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds over `repeats` runs, after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_ratio(fn_a: Callable[[], object], fn_b: Callable[[], object], repeats: int = 5, warmup: int = 1) -> tuple[float, float, float]:
    """(median_a, median_b, median_a / median_b), with a and b timed alternately in the same run."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn_a()
        t1 = time.perf_counter()
        fn_b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    ma, mb = statistics.median(ta), statistics.median(tb)
    return ma, mb, ma / mb


def latency_percentiles(fn: Callable[[], object], n_calls: int = 200, warmup: int = 10,
                        quantiles: tuple[float, ...] = (50, 99)) -> tuple[float, ...]:
    """Per-call wall times of fn() in seconds at the given percentiles (p50, p99 by default), after warm-up."""
    import numpy as np

    for _ in range(warmup):
        fn()
    times = np.empty(n_calls)
    for i in range(n_calls):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return tuple(float(np.percentile(times, q)) for q in quantiles)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with `n` torch intra-op threads, then restore the previous count.

    Small models (an MLP on 28x28 images, a tiny transformer) run faster on one thread: their ops are too
    small to split, and on a busy machine OpenMP's idle threads spin and burn CPU time (measured here: 2.8 ms
    per MLP step on 1 thread vs 20-40 ms on 2 while other jobs ran). The thread count also fixes the order of
    float reductions, so a lab that pins it gives the same numbers on any machine.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def limit_threads(n: int):
    """`torch_threads(n)` plus the BLAS/OpenMP pools NumPy, SciPy and scikit-learn use (threadpoolctl), restored after.

    The runner applies it around every lab's run() with the lab's `threads` field. threadpoolctl limits only
    libraries already loaded, so NumPy's and SciPy's BLAS are loaded first. Small arrays are the rule here
    (784×784 eigendecompositions, per-example gradients, logistic regressions on a few thousand rows): on a busy
    2-core machine 60 DP-SGD steps took 0.75 s on one thread and 10 s on two, and a second BLAS thread multiplied
    the CPU time of a logistic-regression fit by 20.
    """
    import numpy  # noqa: F401  (loads NumPy's BLAS)
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, a separate library)
    from threadpoolctl import threadpool_limits  # ships with scikit-learn, a dependency

    with torch_threads(n), threadpool_limits(limits=n):
        yield
