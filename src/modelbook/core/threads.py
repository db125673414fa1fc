"""Run a block on a fixed number of threads (torch's, and the BLAS/OpenMP pools NumPy and scikit-learn use),
then restore the previous settings.

Labs whose work is many small tensor operations (per-example gradients of a small MLP, FedAvg's client loops,
a tiny CNN, 784×784 eigendecompositions) run faster on ONE thread: each operation is too small to split, and
handing it to a second thread costs more than it saves. On a busy 2-core machine the difference was 13× in
wall time for 60 DP-SGD steps (0.75 s vs 10 s), and the spinning second thread also inflates CPU time.

    with limit_threads(1):
        train(...)
"""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def limit_threads(n: int):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        try:
            from threadpoolctl import threadpool_limits  # ships with scikit-learn
        except ImportError:  # pragma: no cover - scikit-learn is a dependency
            yield
            return
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(previous)
