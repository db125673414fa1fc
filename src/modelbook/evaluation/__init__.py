"""Evaluation metrics written from scratch in NumPy, each checked against scikit-learn.

    classification.py   confusion matrix, accuracy, precision / recall / F1 (binary, macro, micro,
                        weighted), ROC and PR curves, ROC AUC (trapezoid and rank forms), average precision,
                        recall at a fixed precision
    calibration.py      reliability diagram bins, expected calibration error (ECE)
    uncertainty.py      bootstrap confidence intervals (any metric; AUC with all resamples at once) and their
                        coverage on binormal samples; DeLong and Hanley-McNeil standard errors of AUC

Cross-checks: tests/evaluation/test_classification.py (hypothesis property tests against sklearn).
"""
from modelbook.evaluation.calibration import expected_calibration_error, reliability_bins
from modelbook.evaluation.classification import (
    accuracy,
    average_precision,
    balanced_accuracy,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_f1,
    recall_at_precision,
    roc_auc,
    roc_auc_ovr,
    roc_auc_rank,
    roc_curve,
)
from modelbook.evaluation.uncertainty import auc_se_delong, auc_se_hanley_mcneil, bootstrap_auc, bootstrap_ci

__all__ = [
    "accuracy", "auc_se_delong", "auc_se_hanley_mcneil", "average_precision", "balanced_accuracy", "bootstrap_auc", "bootstrap_ci",
    "confusion_matrix", "expected_calibration_error", "precision_recall_curve", "precision_recall_f1",
    "recall_at_precision", "reliability_bins", "roc_auc", "roc_auc_ovr", "roc_auc_rank", "roc_curve",
]
