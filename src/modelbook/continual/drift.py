"""The Page-Hinkley drift detector, from scratch, streaming and vectorised, and a detect-and-retrain loop.

Page (1954), "Continuous inspection schemes", Biometrika; the form used for concept drift (Gama et al. 2013,
"On evaluating stream learning algorithms", Machine Learning 90): for a stream x_1, x_2, ... (here 0/1 errors
of a deployed model), with x̄_t the running mean since the last reset,

    m_t = Σ_{i<=t} (x_i − x̄_i − δ),    M_t = min_{i<=t} m_i,    PH_t = m_t − M_t,

and an alarm (an increase of the mean) when PH_t > λ; the detector then resets. δ is the size of change
tolerated, λ the threshold that trades delay against false alarms. No library with this detector is
installed here (river, scikit-multiflow), so the streaming detector is checked against the same statistic
computed in closed form with cumulative sums (`page_hinkley_statistic`), and its delay against the
deterministic 'fluid' path of m_t after a known jump in the error rate (`fluid_delay`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class PageHinkley:
    """Streaming Page-Hinkley test for an increase in the mean. `update(x)` returns True on an alarm."""

    delta: float = 0.005
    threshold: float = 50.0
    min_samples: int = 30
    n: int = field(default=0, init=False)
    mean: float = field(default=0.0, init=False)
    cum: float = field(default=0.0, init=False)
    cum_min: float = field(default=0.0, init=False)

    def reset(self) -> None:
        self.n, self.mean, self.cum, self.cum_min = 0, 0.0, 0.0, 0.0

    @property
    def statistic(self) -> float:
        return self.cum - self.cum_min

    def update(self, x: float) -> bool:
        self.n += 1
        self.mean += (x - self.mean) / self.n
        self.cum += x - self.mean - self.delta
        self.cum_min = min(self.cum_min, self.cum)
        if self.n >= self.min_samples and self.statistic > self.threshold:
            self.reset()
            return True
        return False


def page_hinkley_statistic(x: np.ndarray, delta: float) -> np.ndarray:
    """PH_t for t = 1..n of one segment (no reset), in closed form: running means by cumsum, M_t by a running minimum.

    M_t starts from m_0 = 0 (the empty sum), as in the streaming detector."""
    x = np.asarray(x, dtype=float)
    n = np.arange(1, len(x) + 1)
    mean = np.cumsum(x) / n
    m = np.cumsum(x - mean - delta)
    return m - np.minimum(np.minimum.accumulate(m), 0.0)


def page_hinkley_alarms(x: np.ndarray, delta: float, threshold: float, min_samples: int = 30) -> list[int]:
    """Alarm positions over a whole stream, segment by segment with the closed-form statistic (reset after each)."""
    alarms, start = [], 0
    while start < len(x):
        ph = page_hinkley_statistic(x[start:], delta)
        hit = np.flatnonzero((ph > threshold) & (np.arange(1, len(ph) + 1) >= min_samples))
        if not len(hit):
            break
        alarms.append(start + int(hit[0]))
        start += int(hit[0]) + 1
    return alarms


def fluid_delay(jump: float, n_before: int, delta: float, threshold: float, start: float = 0.0) -> float:
    """Steps after a jump of `jump` in the error rate until the expected path of PH crosses the threshold.

    With n0 = `n_before` samples since the last reset at the old rate p0, d steps after the jump the running mean
    is p0 + jump·d/(n0 + d), so m grows by jump·n0/(n0 + d) − δ per step (the new mean is partly absorbed into x̄).
    Summed, jump·n0·ln((n0 + D)/n0) − δ·D = threshold − start: solved for D by bisection. `start` is PH at the jump
    (its typical value under the old rate). Fluctuations are ignored: this is the law-of-large-numbers path, the
    first-order delay λ/(jump − δ) corrected for the drifting mean. Returns inf when the path never crosses.
    """
    need = threshold - start

    def gain(D):
        return jump * n_before * math.log1p(D / n_before) - delta * D

    hi = 1.0
    while gain(hi) < need:
        hi *= 2
        if hi > 1e9 or (hi > 4 * n_before and gain(hi) < gain(hi / 2)):
            return math.inf
    lo = 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gain(mid) < need else (lo, mid)
    return hi


@dataclass(frozen=True)
class RetrainRun:
    errors: np.ndarray          # 0/1 errors of the deployed model's predictions, one per step
    alarms: list[int]           # steps at which the detector fired
    refits: list[int]           # steps at which a new model was deployed
    statistic: np.ndarray       # PH after each step (0 right after a reset)
    models: list                # the model deployed at each refit


def detect_and_retrain(x: np.ndarray, y: np.ndarray, fit, predict, n_fit: int, detector: PageHinkley) -> RetrainRun:
    """Deploy a model fit on the first `n_fit` samples; feed its errors to the detector; on an alarm collect the next
    `n_fit` samples (the old model keeps serving meanwhile), refit on them, deploy, and restart the detector."""
    T = len(y)
    model = fit(x[:n_fit], y[:n_fit])
    pred = predict(model, x)
    errors = np.zeros(T, dtype=np.int8)
    stat = np.zeros(T)
    alarms, refits, models = [], [n_fit], [model]
    detector.reset()
    t, refit_at = n_fit, None
    while t < T:
        if refit_at is not None and t == refit_at:
            model = fit(x[t - n_fit:t], y[t - n_fit:t])
            pred = predict(model, x)
            refits.append(t)
            models.append(model)
            refit_at = None
            detector.reset()
        e = int(pred[t] != y[t])
        errors[t] = e
        if refit_at is None and detector.update(e):
            alarms.append(t)
            refit_at = t + 1 + n_fit
        stat[t] = detector.statistic
        t += 1
    return RetrainRun(errors, alarms, refits, stat, models)


def delays(alarms: list[int], drift_points, horizon: int) -> list[float]:
    """For each drift point, steps to the first alarm in [drift, drift + horizon) (nan when none: a missed drift)."""
    out = []
    for d in drift_points:
        hit = [a for a in alarms if d <= a < d + horizon]
        out.append(float(hit[0] - d) if hit else float("nan"))
    return out


def false_alarms(alarms: list[int], drift_points, horizon: int) -> int:
    """Alarms not inside any [drift, drift + horizon) window."""
    return sum(not any(d <= a < d + horizon for d in drift_points) for a in alarms)
