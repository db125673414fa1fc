"""Operating points and decision curves: what a diagnostic model is worth at the threshold a clinician uses.

Sensitivity (recall of the sick) and specificity (recall of the healthy) trade against each other along the
ROC curve; a screening test is run at a stated sensitivity (e.g. ≥ 0.95: miss at most 1 case in 20) and the
question becomes what specificity that costs. The threshold is chosen on data the test set has not seen.

Decision-curve analysis (Vickers & Elkin 2006, Med Decis Making 26:565) puts a model, "treat all" and "treat
none" on one scale. A threshold probability p_t says how a clinician weighs harms: treating when p ≥ p_t means
a false positive is worth p_t / (1 − p_t) of a true positive. Then

    net benefit(p_t) = TP/n − FP/n · p_t / (1 − p_t)
    treat all:         prevalence − (1 − prevalence) · p_t / (1 − p_t)
    treat none:        0

A model is worth using at p_t only where its curve lies above both reference lines.
"""
from __future__ import annotations

import numpy as np


def sensitivity_specificity(y_true, score, threshold: float) -> tuple[float, float]:
    """(sensitivity, specificity) of the rule 'positive when score ≥ threshold'."""
    y = np.asarray(y_true).astype(bool)
    pos = np.asarray(score) >= threshold
    return float((pos & y).sum() / y.sum()), float((~pos & ~y).sum() / (~y).sum())


def threshold_for_sensitivity(y_true, score, target: float) -> float:
    """The highest threshold whose sensitivity on (y_true, score) is at least `target`.

    Sort the positives' scores from high to low; flagging the k highest gives sensitivity k / n_pos, so the
    threshold is the ⌈target · n_pos⌉-th highest positive score (ties only add positives)."""
    s = np.sort(np.asarray(score)[np.asarray(y_true).astype(bool)])[::-1]
    k = int(np.ceil(target * len(s) - 1e-12))
    return float(s[max(k, 1) - 1])


def youden_threshold(y_true, score) -> float:
    """The threshold maximising sensitivity + specificity − 1 (Youden's J), over the observed scores."""
    cand = np.unique(np.asarray(score))
    j = [sum(sensitivity_specificity(y_true, score, t)) - 1 for t in cand]
    return float(cand[int(np.argmax(j))])


def net_benefit(y_true, prob, p_t: float) -> float:
    """Vickers & Elkin's net benefit of 'treat when prob ≥ p_t' at threshold probability p_t (0 < p_t < 1)."""
    if not 0.0 < p_t < 1.0:
        raise ValueError(f"threshold probability must be in (0, 1), got {p_t}")
    y = np.asarray(y_true).astype(bool)
    treat = np.asarray(prob) >= p_t
    n = len(y)
    return float((treat & y).sum() / n - (treat & ~y).sum() / n * p_t / (1.0 - p_t))


def treat_all_net_benefit(prevalence: float, p_t):
    """Net benefit of treating everyone: prevalence − (1 − prevalence) · p_t / (1 − p_t)."""
    p_t = np.asarray(p_t, dtype=float)
    return prevalence - (1.0 - prevalence) * p_t / (1.0 - p_t)


def decision_curve(y_true, prob, thresholds) -> np.ndarray:
    """Net benefit of the model at each threshold probability."""
    return np.array([net_benefit(y_true, prob, t) for t in thresholds])
