"""Losses and penalties that are building blocks of the training-craft labs, written out.

Focal loss (Lin, Goyal, Girshick, He & Dollár, "Focal Loss for Dense Object Detection", ICCV 2017, eq. 5):

    FL(p_t) = −α_t · (1 − p_t)^γ · log(p_t)

p_t is the probability the model gives to the true class. The factor (1 − p_t)^γ shrinks the loss of
examples the model already gets right (p_t → 1), so the many easy majority examples stop drowning the
few hard ones; γ = 0 gives back (α-weighted) cross-entropy. α_t weights the classes: in the binary form,
α for positives and 1 − α for negatives. The paper's detector used γ = 2, α = 0.25; α = 0.25 *down*-weights
the rare foreground class there, because the γ term has already removed most of the easy background's loss.
Focal loss changes which examples matter; it does not make the scores calibrated probabilities (they are
pushed towards 0.5), so read its scores by rank (PR-AUC) or pick the threshold on validation data.

    focal_loss(logits (N, C), targets (N,))               multi-class, softmax
    binary_focal_loss(logits (N,), targets (N,) in {0,1})  sigmoid; the form torchvision.ops.sigmoid_focal_loss uses

Penalties (added to the loss inside a loss_fn closure):
    l1_penalty(model) = Σ |w|     (Tibshirani 1996: drives weights to exactly zero, a sparse model)
    l2_penalty(model) = ½ Σ w²    (Tikhonov / ridge: with plain SGD, adding λ·l2_penalty equals weight decay λ;
                                   with Adam it does not, which is why AdamW decouples the decay — Loshchilov &
                                   Hutter 2019)
Both skip biases and normalisation parameters (1-D tensors), as is usual; weight_norm(model) = √(Σ w²) over the
same tensors measures what they shrink.

Cross-checks: tests/nn/test_losses.py (γ = 0 equals cross-entropy; binary form equals torchvision's formula
written out; the 2-class softmax form equals the sigmoid form on the logit difference; L2 + SGD equals
SGD(weight_decay)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0, alpha: torch.Tensor | None = None,
               reduction: str = "mean") -> torch.Tensor:
    """Multi-class focal loss. logits (N, C), targets (N,) int; alpha: optional per-class weights (C,)."""
    log_p = F.log_softmax(logits, dim=-1)                           # (N, C)
    log_pt = log_p.gather(1, targets[:, None]).squeeze(1)           # (N,) log p_t
    loss = -((1 - log_pt.exp()) ** gamma) * log_pt
    if alpha is not None:
        loss = alpha.to(loss.dtype)[targets] * loss
    return _reduce(loss, reduction)


def binary_focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0, alpha: float | None = 0.25,
                      reduction: str = "mean") -> torch.Tensor:
    """Binary focal loss on raw scores. logits (N,), targets (N,) in {0, 1}; alpha None means no class weight."""
    targets = targets.to(logits.dtype)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")   # −log p_t, computed stably
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce(loss, reduction)


class FocalLoss(nn.Module):
    """focal_loss as a criterion for core.train.fit: FocalLoss(gamma=2)(logits, targets)."""

    def __init__(self, gamma: float = 2.0, alpha: torch.Tensor | None = None):
        super().__init__()
        self.gamma = gamma
        self.register_buffer("alpha", alpha if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))

    def forward(self, logits, targets):
        return focal_loss(logits, targets, self.gamma, self.alpha)


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be mean, sum or none, not {reduction!r}")


def _weights(model: nn.Module):
    return [p for p in model.parameters() if p.requires_grad and p.dim() > 1]


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Σ |w| over weight matrices and kernels (biases and norm scales are left alone)."""
    return sum(p.abs().sum() for p in _weights(model))


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """½ Σ w² over weight matrices and kernels; its gradient is w itself."""
    return 0.5 * sum(p.pow(2).sum() for p in _weights(model))


@torch.no_grad()
def weight_norm(model: nn.Module) -> float:
    """‖W‖ = √(Σ w²) over the same weight matrices and kernels: what weight decay shrinks (a measurement)."""
    return float(torch.sqrt(sum(p.pow(2).sum() for p in _weights(model))))
