"""Adversarial robustness from scratch: FGSM, PGD (L∞), robust accuracy, adversarial training losses.

    from modelbook.adversarial import fgsm, pgd, robust_accuracy, adversarial_loss
"""
from modelbook.adversarial.attacks import (
    adversarial_loss,
    ball_excess,
    fgsm,
    pgd,
    robust_accuracy,
    robust_correct,
    softmax_regression_fgsm,
)

__all__ = ["adversarial_loss", "ball_excess", "fgsm", "pgd", "robust_accuracy", "robust_correct", "softmax_regression_fgsm"]
