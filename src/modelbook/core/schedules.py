"""Learning-rate schedules for core.train.fit: warmup + cosine, and ready LRSchedule callbacks for the usual four.

    schedule("cosine_warmup", optimizer, n_epochs, steps_per_epoch)   -> an LRSchedule callback for fit
    cosine_with_warmup(optimizer, warmup_steps, total_steps)          -> a torch LambdaLR
    plateau_cuts(val_losses, lrs, threshold)                          -> after which epochs reduce-on-plateau cuts

Step decay, reduce-on-plateau and one-cycle are torch's own schedulers (StepLR, ReduceLROnPlateau, OneCycleLR);
warmup + cosine is written here because torch has no single scheduler for it (the lab checks it against
torch's SequentialLR(LinearLR, CosineAnnealingLR), tests/core/test_train.py against transformers').
"""
from __future__ import annotations

import math

import torch

from modelbook.core.train import LRSchedule  # the callback that steps a scheduler (core.train does not import this module)


def cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int, min_ratio: float = 0.0):
    """lr(t) = base · t/warmup during warmup, then base · [min + (1 − min) · ½(1 + cos(π · progress))]
    (Loshchilov & Hutter 2017 cosine annealing, with linear warmup as in Goyal et al. 2017)."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        progress_ = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress_))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def schedule(name: str, optimizer, n_epochs: int, steps_per_epoch: int, **kw):
    """The usual schedules as ready LRSchedule callbacks (keyword arguments override the defaults):
    "step"          lr × gamma every step_size epochs (StepLR; gamma 0.1, step_size n_epochs // 3)
    "cosine_warmup" linear warmup over warmup_fraction of the steps (0.1), then cosine to 0, per step
    "plateau"       lr × factor after more than `patience` epochs in which val_loss did not beat its best by a
                    relative `threshold` (ReduceLROnPlateau; factor 0.1, patience 2, threshold 1e-4)
    "one_cycle"     up to max_lr (10 × the optimizer's lr) for pct_start (0.3) of the steps, then far below the
                    start, per step (OneCycleLR; Smith & Topin 2019)"""
    total = n_epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler
    if name == "step":
        return LRSchedule(sched.StepLR(optimizer, kw.get("step_size", max(1, n_epochs // 3)), kw.get("gamma", 0.1)))
    if name == "cosine_warmup":
        return LRSchedule(cosine_with_warmup(optimizer, int(kw.get("warmup_fraction", 0.1) * total), total), "step")
    if name == "plateau":
        return LRSchedule(sched.ReduceLROnPlateau(optimizer, factor=kw.get("factor", 0.1), patience=kw.get("patience", 2),
                                                  threshold=kw.get("threshold", 1e-4)), monitor=kw.get("monitor", "val_loss"))
    if name == "one_cycle":
        max_lr = kw.get("max_lr", 10 * optimizer.param_groups[0]["lr"])
        return LRSchedule(sched.OneCycleLR(optimizer, max_lr, total_steps=total, pct_start=kw.get("pct_start", 0.3)), "step")
    raise ValueError(f"unknown schedule {name!r}: use step, cosine_warmup, plateau or one_cycle")


def plateau_cuts(val_losses, lrs, threshold: float, factor: float = 0.1, eps: float = 1e-8) -> list[bool]:
    """Whether ReduceLROnPlateau with patience 0 (mode min, relative threshold) cuts the LR after each epoch:
    after every epoch whose val_loss is not below best × (1 − threshold), unless the cut lr × (1 − factor) would be
    no larger than eps (torch skips it). `lrs` are the rates in force during each epoch; `best` moves only on an
    epoch that beats it (by the threshold), as in torch."""
    best, cuts = float("inf"), []
    for loss, lr in zip(val_losses, lrs):
        stalled = not loss < best * (1 - threshold)
        best = min(best, loss) if not stalled else best
        cuts.append(stalled and lr * (1 - factor) > eps)
    return cuts
