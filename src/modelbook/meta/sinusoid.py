"""The sinusoid task family of Finn, Abbeel & Levine (2017), section 5.1.

A task is y = A sin(x − φ) with amplitude A ~ U[0.1, 5] and phase φ ~ U[0, π]; inputs x ~ U[−5, 5].
A K-shot task gives K (x, y) pairs to adapt on (the support set) and other points of the same curve to
score the adapted model (the query set). Everything is batched: one call draws many tasks at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


@dataclass(frozen=True)
class TaskBatch:
    amplitude: object  # (T,)
    phase: object      # (T,)
    x_support: object  # (T, K, 1)
    y_support: object
    x_query: object    # (T, Q, 1)
    y_query: object

    def __len__(self) -> int:
        return self.amplitude.shape[0]


def curve(amplitude, phase, x):
    """y for each task's curve at x: amplitude, phase (T,); x (T, n, 1) -> (T, n, 1)."""
    import torch

    return amplitude[:, None, None] * torch.sin(x - phase[:, None, None])


def sample_tasks(n_tasks: int, k_support: int, k_query: int, gen, dtype=None, query_grid: bool = False) -> TaskBatch:
    """Draw n_tasks sinusoids with K support and Q query points each (torch generator `gen`).

    query_grid=True puts the query points on an even grid over [−5, 5] (for curves and a full-range MSE)."""
    import torch

    dtype = dtype or torch.float32
    u = lambda *s: torch.rand(*s, generator=gen, dtype=dtype)  # noqa: E731
    amp = AMPLITUDE[0] + (AMPLITUDE[1] - AMPLITUDE[0]) * u(n_tasks)
    phase = PHASE[0] + (PHASE[1] - PHASE[0]) * u(n_tasks)
    span = X_RANGE[1] - X_RANGE[0]
    xs = X_RANGE[0] + span * u(n_tasks, k_support, 1)
    if query_grid:
        xq = torch.linspace(*X_RANGE, k_query, dtype=dtype).expand(n_tasks, k_query)[..., None].clone()
    else:
        xq = X_RANGE[0] + span * u(n_tasks, k_query, 1)
    return TaskBatch(amp, phase, xs, curve(amp, phase, xs), xq, curve(amp, phase, xq))
