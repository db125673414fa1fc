"""Perturbation methods: permutation importance, deletion curves, LIME (tabular).

Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019): shuffle one feature's column in held-out
data, breaking its link to the label, and measure how much the score drops; repeat and average. It is
global and model-agnostic, but correlated features share credit (shuffle one, the model reads its twin) and
shuffling creates feature combinations that never occur.

Deletion curve (Petsiuk et al. 2018, RISE): remove input features in the order an attribution ranks them (most
important first, replaced by a baseline value) and track the model's probability for its predicted class. A
faithful attribution makes it fall fast, so the area under the curve is small; a random order is the yardstick.
On tabular data the same curve replaces features by their training means (`deletion_curve_tabular`).
Caveat (Hooker et al. 2019): deleted inputs are off the data distribution, and a method that uses the same
baseline as the deletion (IG with a black baseline, deletion to black) is favoured by construction.

LIME (Ribeiro, Singh & Guestrin 2016), tabular form: sample points z around the instance x (here x + N(0, σ_j²)
per feature, σ_j the training standard deviation), weight them by an RBF kernel on the standardised distance,
π(z) = exp(−d(x, z)² / w²) with w = 0.75·√d, and fit a weighted ridge regression of the model's probability on
the standardised features. Its coefficients are the explanation: a local linear surrogate. Different random
samples give different explanations (`lime_tabular` takes the generator, so this can be measured).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def permutation_importance(score: Callable[[np.ndarray, np.ndarray], float], X: np.ndarray, y: np.ndarray,
                           n_repeats: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) over repeats of score(X, y) − score(X with column j shuffled, y), for every column j."""
    base = score(X, y)
    drops = np.zeros((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        Xp = X.copy()
        for r in range(n_repeats):
            Xp[:, j] = X[rng.permutation(len(X)), j]
            drops[j, r] = base - score(Xp, y)
    return drops.mean(1), drops.std(1)


@torch.no_grad()
def deletion_curve(model: torch.nn.Module, x: torch.Tensor, attribution: torch.Tensor, target: torch.Tensor,
                   n_steps: int = 20, baseline: float = 0.0) -> np.ndarray:
    """(B, n_steps + 1): softmax probability of `target` after deleting the top 0, 1/n, ..., all of the features.

    x and attribution: (B, ...). Features are deleted (set to `baseline`) in decreasing order of attribution."""
    b = len(x)
    flat_x, order = x.reshape(b, -1), attribution.reshape(b, -1).argsort(dim=1, descending=True)
    d = flat_x.shape[1]
    probs = []
    for k in np.linspace(0, d, n_steps + 1).round().astype(int):
        xd = flat_x.clone()
        xd.scatter_(1, order[:, :k], baseline)
        probs.append(model(xd.view_as(x)).softmax(-1).gather(1, target[:, None]).squeeze(1))
    return torch.stack(probs, 1).numpy()


def deletion_curve_tabular(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, attribution: np.ndarray,
                           baseline: np.ndarray, n_steps: int | None = None) -> np.ndarray:
    """(n, n_steps + 1): predict(x) as the top 0, 1/n_steps, ..., all features of each row of X (n, d) are replaced
    by `baseline` (d,), e.g. the training means, in decreasing order of that row's `attribution` (n, d).

    predict: (m, d) → (m,), the probability the attribution explains (for a classifier, of the predicted class,
    with attributions signed toward it). n_steps defaults to d (one feature at a time)."""
    n, d = X.shape
    order = np.argsort(-attribution, axis=1, kind="stable")                # (n, d) most supportive first
    ks = np.linspace(0, d, (n_steps or d) + 1).round().astype(int)
    batch = np.repeat(X[None], len(ks), axis=0)                            # (steps + 1, n, d)
    for s, k in enumerate(ks):
        rows = np.repeat(np.arange(n), k)
        batch[s, rows, order[:, :k].ravel()] = baseline[order[:, :k].ravel()]
    return predict(batch.reshape(-1, d)).reshape(len(ks), n).T           # one call: (n, steps + 1)


def toward_predicted_class(predicted: np.ndarray) -> np.ndarray:
    """(n, 1) sign that turns a binary classifier's class-1 evidence into evidence for each row's predicted class
    (`predicted` (n,) of 0/1 labels): +1 where class 1 is predicted, −1 where class 0 is."""
    return np.where(predicted == 1, 1.0, -1.0)[:, None]


def deletion_curve_predicted_class(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, attribution: np.ndarray,
                                   baseline: np.ndarray, predicted: np.ndarray, n_steps: int | None = None) -> np.ndarray:
    """`deletion_curve_tabular` for a binary classifier, read as the probability of each row's predicted class
    (`predicted` (n,) of 0/1 labels): predict gives P(class 1), so rows predicted 0 track 1 − P(class 1).
    The attribution should already be signed toward the predicted class (`toward_predicted_class`)."""
    curve = deletion_curve_tabular(predict, X, attribution, baseline, n_steps)
    return np.where(toward_predicted_class(predicted) > 0, curve, 1 - curve)


def curve_auc(curve: np.ndarray) -> np.ndarray:
    """Area under each row of a deletion curve, x from 0 to 1 (trapezoid rule)."""
    return np.trapezoid(curve, np.linspace(0, 1, curve.shape[-1]), axis=-1)


def lime_tabular(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, scale: np.ndarray, n_samples: int,
                 rng: np.random.Generator | None = None, samples: np.ndarray | None = None,
                 kernel_width: float | None = None, alpha: float = 1.0) -> tuple[np.ndarray, float, float]:
    """(coefficients (d,), intercept, weighted R² of the surrogate) of LIME's local linear explanation.

    predict: (n, d) → (n,) the probability being explained. scale (d,): the training std of each feature.
    samples: (n_samples, d) standard-normal draws to use instead of drawing from `rng` (row 0 is replaced by x,
    as in the lime package), so the explanation can be reproduced exactly."""
    d = len(x)
    z = rng.standard_normal((n_samples, d)) if samples is None else np.array(samples, dtype=float)
    z[0] = 0.0
    points = z * scale + x                                        # (n, d) perturbed inputs in original units
    dist = np.sqrt((z ** 2).sum(1))                               # Euclidean distance in standardised units
    width = kernel_width if kernel_width is not None else 0.75 * np.sqrt(d)
    weights = np.sqrt(np.exp(-dist ** 2 / width ** 2))            # lime's kernel: sqrt(exp(−d²/w²))
    target = predict(points)
    # weighted ridge on the standardised features, intercept not penalised: centre by the weighted means
    sw = weights / weights.sum()
    z_mean, t_mean = sw @ z, sw @ target
    zc, tc = z - z_mean, target - t_mean
    A = (zc * weights[:, None]).T @ zc + alpha * np.eye(d)
    coef = np.linalg.solve(A, (zc * weights[:, None]).T @ tc)
    intercept = t_mean - z_mean @ coef
    fitted = z @ coef + intercept
    r2 = 1 - (weights * (target - fitted) ** 2).sum() / (weights * (target - t_mean) ** 2).sum()
    return coef, float(intercept), float(r2)


def mean_log_likelihood(p: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> float:
    """Mean of y·log p + (1 − y)·log(1 − p) over binary labels y (n,) and probabilities p (n,) of class 1,
    clipped to [eps, 1 − eps]: minus the log-loss. A proper score, so it moves with every change in probability
    (a permutation score built on AUC is flat when the model ranks nearly perfectly)."""
    p = np.clip(p, eps, 1 - eps)
    return float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def top_k_jaccard(coefficients: list[np.ndarray], k: int = 5) -> float:
    """Stability of an explanation across re-runs: the mean over pairs of runs of the Jaccard index |A ∩ B| / |A ∪ B|
    of their top-k features by |coefficient| (1 = the same k features every time)."""
    tops = [set(np.argsort(-np.abs(c))[:k]) for c in coefficients]
    return float(np.mean([len(a & b) / len(a | b) for i, a in enumerate(tops) for b in tops[i + 1:]]))
