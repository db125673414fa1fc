"""Calibration: does a predicted probability of 0.8 come true 80% of the time?

Split predictions into `n_bins` equal-width bins of confidence. In bin b, conf_b is the mean predicted
probability and acc_b the observed frequency of the event. The reliability diagram plots acc_b
against conf_b (the diagonal is perfect calibration), and

    ECE = Σ_b (n_b / N) · |acc_b − conf_b|          (Naeini et al. 2015; Guo et al. 2017)

Binary form here (probability of the positive class); for multi-class, Guo et al. bin the top-class
confidence with "is the top class correct" as the event, which is `top_label_ece`.
The bins match sklearn.calibration.calibration_curve(strategy="uniform") (tests/evaluation).
"""
from __future__ import annotations

import numpy as np


def reliability_bins(y_true, prob, n_bins: int = 10):
    """(prob_true, prob_pred, counts) for the non-empty bins, in increasing confidence."""
    y_true = np.asarray(y_true, dtype=float)
    prob = np.asarray(prob, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bins are closed on the right, (a, b], with 0 in the first bin: the convention sklearn uses
    idx = np.searchsorted(edges[1:-1], prob, side="left")
    counts = np.bincount(idx, minlength=n_bins)
    sum_true = np.bincount(idx, weights=y_true, minlength=n_bins)
    sum_prob = np.bincount(idx, weights=prob, minlength=n_bins)
    nz = counts > 0
    return sum_true[nz] / counts[nz], sum_prob[nz] / counts[nz], counts[nz]


def expected_calibration_error(y_true, prob, n_bins: int = 15) -> float:
    prob_true, prob_pred, counts = reliability_bins(y_true, prob, n_bins)
    return float(np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred)))


def top_label_events(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """(correct, confidence) of the top class: 1.0 where argmax is the label, and the max probability."""
    proba = np.asarray(proba)
    correct = (proba.argmax(axis=1) == np.asarray(y_true)).astype(float)
    return correct, proba.max(axis=1)


def top_label_ece(y_true, proba, n_bins: int = 15) -> float:
    """Multi-class ECE of Guo et al. 2017: confidence = max probability, event = prediction correct."""
    return expected_calibration_error(*top_label_events(y_true, proba), n_bins)
