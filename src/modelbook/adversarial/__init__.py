"""Adversarial robustness from scratch: FGSM, PGD (L∞), robust accuracy, adversarial training losses.

    from modelbook.adversarial import fgsm, pgd, robust_accuracy, adversarial_loss
"""
from modelbook.adversarial.attacks import adversarial_loss, fgsm, pgd, robust_accuracy

__all__ = ["adversarial_loss", "fgsm", "pgd", "robust_accuracy"]
