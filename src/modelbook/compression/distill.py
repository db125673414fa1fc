"""Knowledge distillation (Hinton, Vinyals & Dean 2015): a small student learns from a teacher's soft targets.

The teacher's logits v, softened by a temperature T, give soft targets q = softmax(v / T); the student's
logits z give p = softmax(z / T). The student minimises a mix of the soft and the hard (label) loss:

    L = α · T² · KL(q ‖ p)  +  (1 − α) · CE(softmax(z), y)

Why T: at T = 1 a confident teacher puts ~all mass on one class and the soft target says little more than
the label; a higher T exposes the teacher's similarities between wrong classes ("a 7 looks a bit like a 1"),
the "dark knowledge". Why T²: ∂KL/∂z_i = (p_i − q_i) / T, so the soft gradients shrink like 1/T² as T grows
(for large T they tend to (z_i − v_i) / (N T²) with zero-mean logits); multiplying by T² keeps the two terms
on the same scale when T changes. Hinton et al. (§3): on MNIST, a 2×800 net trained on labels made 146 test
errors; the same net distilled from a 2×1200 teacher (67 errors) at T = 20 made 74.

`distillation_loss_fn` adapts the loss to core.train.fit: batches carry (x, y, teacher_logits), with the
teacher's logits computed once beforehand (the teacher is frozen, so there is no need to run it every epoch).
A transfer set may be mostly unlabelled (Hinton et al. §2: it "could consist entirely of unlabeled data"): an
image whose target is UNLABELLED adds nothing to the hard term, which still averages over the whole batch, so
that every image weighs the same and a few labels do not outweigh the soft targets of the many unlabelled images.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

UNLABELLED = -100  # the target of an image without a label (F.cross_entropy's default ignore_index)


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """KL(q ‖ p) with q = softmax(v/T), p = softmax(z/T), averaged over the batch (B, C) -> ()."""
    log_p = F.log_softmax(student_logits / T, dim=-1)
    log_q = F.log_softmax(teacher_logits / T, dim=-1)
    return (log_q.exp() * (log_q - log_p)).sum(dim=-1).mean()


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor, T: float = 4.0,
            alpha: float = 0.9) -> torch.Tensor:
    """α · T² · KL(q ‖ p) + (1 − α) · CE(z, y), both averaged over the batch; an UNLABELLED image's CE is zero."""
    soft = soft_target_loss(student_logits, teacher_logits, T)
    hard = F.cross_entropy(student_logits, targets, ignore_index=UNLABELLED, reduction="sum") / len(targets)
    return alpha * T * T * soft + (1 - alpha) * hard


def distillation_loss_fn(T: float = 4.0, alpha: float = 0.9):
    """loss_fn(model, batch) for core.train.fit, for batches (x, y, teacher_logits)."""
    def loss_fn(model: nn.Module, batch) -> torch.Tensor:
        x, y, teacher_logits = batch
        return kd_loss(model(x), teacher_logits, y, T, alpha)
    return loss_fn


@torch.no_grad()
def teacher_logits(teacher: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The frozen teacher's logits on x, computed in eval mode, in batches: (N, ...) -> (N, C)."""
    teacher.eval()
    return torch.cat([teacher(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
