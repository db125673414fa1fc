"""Abstention: answer only when the evidence is strong enough, with the threshold set on held-out questions.

A reader given the wrong passage still answers (it was trained to answer), so "say unknown" in the prompt is
not a control a small model reliably follows. A rule outside the model is: a threshold τ on a score that
separates answerable from unanswerable questions (here the top retrieval score: a question about an entity
in the knowledge base matches its rare name, one about an absent entity matches only common words).

fit_threshold chooses τ on calibration questions, never on the test ones: the midpoint of the widest gap
that classifies the calibration sets best (fewest answerable questions below τ plus unanswerable ones at or
above it), the selective-prediction recipe (Geifman & El-Yaniv 2017) with equal costs for the two errors.
"""
from __future__ import annotations

import numpy as np


def fit_threshold(answerable_scores, unanswerable_scores) -> float:
    """τ such that `score >= τ` means answer; ties in the error count go to the widest margin."""
    yes, no = np.asarray(answerable_scores, float), np.asarray(unanswerable_scores, float)
    if not len(yes) or not len(no):
        raise ValueError("fit_threshold needs answerable and unanswerable calibration scores")
    points = np.unique(np.concatenate([yes, no]))
    cands = np.concatenate([[points[0] - 1.0], (points[1:] + points[:-1]) / 2, [points[-1] + 1.0]])
    errors = np.array([(yes < t).sum() + (no >= t).sum() for t in cands])
    best = np.flatnonzero(errors == errors.min())
    margin = np.array([np.min(np.abs(np.concatenate([yes, no]) - cands[i])) for i in best])
    return float(cands[best[np.argmax(margin)]])
