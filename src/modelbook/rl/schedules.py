"""Exploration schedules: ε as a function of the step (or episode) t, vectorised over arrays of t.

    constant(ε)                        ε
    linear(start, end, duration)       start + (end - start) · min(t / duration, 1)      (DQN's usual choice)
    exponential(start, end, half_life) end + (start - end) · 2^(-t / half_life)

GLIE (greedy in the limit with infinite exploration, Singh et al. 2000) asks ε_t -> 0 while every action is
still tried infinitely often (e.g. ε_t = 1/t); the schedules here end at a small floor instead, the common
practical choice: the floor keeps exploring if the environment changes, at a fixed cost in online return.
"""
from __future__ import annotations

import numpy as np


def constant(epsilon: float):
    return lambda t: np.full(np.shape(t), float(epsilon)) if np.ndim(t) else float(epsilon)


def linear(start: float, end: float, duration: float):
    def schedule(t):
        frac = np.minimum(np.asarray(t, dtype=float) / max(duration, 1e-12), 1.0)
        return start + (end - start) * frac
    return schedule


def exponential(start: float, end: float, half_life: float):
    def schedule(t):
        return end + (start - end) * np.power(2.0, -np.asarray(t, dtype=float) / half_life)
    return schedule
