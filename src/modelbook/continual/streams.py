"""A drifting stream with known drift points (SEA concepts) and prequential (test-then-train) evaluation.

SEA concepts (Street & Kim 2001, "A streaming ensemble algorithm (SEA) for large-scale classification", KDD):
three features uniform on [0, 10], only the first two matter, label 1 when x1 + x2 <= θ, with θ switching
abruptly between concepts (8, 9, 7, 9.5 in the paper) and a share of labels flipped as noise. Because the
inputs are uniform, the accuracy of any threshold rule under any concept is an exact integral: this is what
lets the lab hold measured accuracies and error jumps against numbers computed without the stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEA_THETAS = (8.0, 9.0, 7.0, 9.5)


@dataclass(frozen=True)
class Stream:
    """R independent copies of one drifting stream: x (R, T, 3), y (R, T) in {0, 1}, concept index (T,)."""

    x: np.ndarray
    y: np.ndarray
    concept: np.ndarray
    drift_points: tuple[int, ...]
    thetas: tuple[float, ...]
    noise: float


def sea_stream(rng: np.random.Generator, n_streams: int, per_concept: int, thetas=SEA_THETAS, noise: float = 0.1) -> Stream:
    """SEA stream: `per_concept` samples for each θ in turn, labels flipped with probability `noise`."""
    T = per_concept * len(thetas)
    x = rng.uniform(0.0, 10.0, size=(n_streams, T, 3))
    concept = np.repeat(np.arange(len(thetas)), per_concept)
    theta = np.asarray(thetas)[concept]
    clean = (x[..., 0] + x[..., 1] <= theta).astype(np.int64)
    flip = rng.random((n_streams, T)) < noise
    y = np.where(flip, 1 - clean, clean)
    drifts = tuple(per_concept * k for k in range(1, len(thetas)))
    return Stream(x, y, concept, drifts, tuple(thetas), noise)


def sum_cdf(s) -> np.ndarray:
    """P(U1 + U2 <= s) for U1, U2 uniform on [0, 10] (a triangular distribution on [0, 20])."""
    s = np.clip(np.asarray(s, dtype=float), 0.0, 20.0)
    return np.where(s <= 10.0, s**2 / 200.0, 1.0 - (20.0 - s) ** 2 / 200.0)


def rule_error(theta_rule: float, theta_concept: float, noise: float) -> float:
    """Exact error rate of the rule 'x1 + x2 <= theta_rule' on the concept theta_concept with label noise.

    The rule disagrees with the clean label on a band of probability D; a noisy label is wrong with
    probability `noise` where the rule agrees and 1 - noise where it disagrees: error = noise + (1 - 2 noise) D.
    """
    d = abs(float(sum_cdf(theta_rule)) - float(sum_cdf(theta_concept)))
    return noise + (1.0 - 2.0 * noise) * d


def linear_rule_error(coef, intercept: float, theta: float, noise: float, grid: int = 400) -> float:
    """Error of the linear rule 'coef · z + intercept > 0' (z = features without the bias) on concept θ, integrated
    over the uniform cube [0, 10]³ without the stream.

    For fixed (x2, x3) both the rule and the concept are half-lines in x1, so the length of x1 on which they disagree
    is exact; x2 (whose integrand is then continuous and piecewise linear) and x3 (which the rule barely uses) take
    the midpoint rule on `grid` and 8 points. This is what a fitted model's measured stream accuracy is held against."""
    a1, a2, a3 = (float(c) for c in coef)
    x2 = ((np.arange(grid) + 0.5) / grid * 10.0)[:, None]
    x3 = ((np.arange(8) + 0.5) / 8 * 10.0)[None, :]
    rest = a2 * (x2 - 5.0) / 5.0 + a3 * (x3 - 5.0) / 5.0 + intercept      # rule: a1 (x1 − 5)/5 + rest > 0
    if a1 > 0:
        lo, hi = 5.0 - 5.0 * rest / a1, np.full_like(rest, 10.0)
    elif a1 < 0:
        lo, hi = np.zeros_like(rest), 5.0 - 5.0 * rest / a1
    else:
        lo, hi = np.zeros_like(rest), np.where(rest > 0, 10.0, 0.0)

    def length(l, h):
        return np.clip(np.clip(h, 0, 10) - np.clip(l, 0, 10), 0, None)

    c_hi = np.broadcast_to(theta - x2, rest.shape)                       # concept: x1 <= θ − x2
    rule_len, concept_len = length(lo, hi), length(0.0, c_hi)
    both = length(lo, np.minimum(hi, c_hi))
    disagree = float((rule_len + concept_len - 2 * both).mean()) / 10.0
    return noise + (1.0 - 2.0 * noise) * disagree


def features(x: np.ndarray) -> np.ndarray:
    """Centred, scaled features for a linear model: (x - 5) / 5 with a bias column appended."""
    z = (x - 5.0) / 5.0
    return np.concatenate([z, np.ones(z.shape[:-1] + (1,))], axis=-1)


def online_logistic(stream: Stream, lr: float) -> np.ndarray:
    """Prequential run of logistic regression by SGD on every stream at once: predict x_t, then take one
    gradient step on (x_t, y_t). Returns the 0/1 errors (R, T) of the predictions made before each step."""
    f = features(stream.x)
    R, T, d = f.shape
    w = np.zeros((R, d))
    errors = np.empty((R, T), dtype=np.int8)
    for t in range(T):
        ft = f[:, t]
        z = np.einsum("rd,rd->r", w, ft)
        errors[:, t] = (z > 0).astype(np.int64) != stream.y[:, t]
        p = 1.0 / (1.0 + np.exp(-z))
        w -= lr * (p - stream.y[:, t])[:, None] * ft
    return errors


def fit_logistic(x: np.ndarray, y: np.ndarray, C: float = 100.0):
    """A batch logistic regression (scikit-learn's lbfgs) on SEA features: the 'model trained once'."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=1000).fit(features(x)[:, :-1], y)


def static_errors(stream: Stream, n_fit: int, C: float = 100.0) -> tuple[np.ndarray, list]:
    """Errors (R, T) of a model fit once on each stream's first `n_fit` samples, and the R fitted models (a
    prequential reader starts after n_fit: those samples were training, not test)."""
    out = np.empty(stream.y.shape, dtype=np.int8)
    models = []
    for r in range(stream.y.shape[0]):
        model = fit_logistic(stream.x[r, :n_fit], stream.y[r, :n_fit], C)
        out[r] = model.predict(features(stream.x[r])[:, :-1]) != stream.y[r]
        models.append(model)
    return out, models


def windowed(errors: np.ndarray, window: int) -> np.ndarray:
    """Accuracy over a trailing window of `window` steps (averaged over streams), one value per step from window-1."""
    acc = 1.0 - errors.mean(axis=0)
    c = np.cumsum(np.concatenate([[0.0], acc]))
    return (c[window:] - c[:-window]) / window
