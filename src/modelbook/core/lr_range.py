"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017, §3.3).

Train for a few hundred steps while the learning rate grows exponentially from lr_min to lr_max,

    lr_i = lr_min · (lr_max / lr_min)^(i / (n − 1)),     i = 0 … n − 1,

and record the training loss of every step. The loss first stays flat (the rate is too small to move the
weights), then falls (a useful rate), then blows up (too large). Smith reads the useful range off this curve;
two common single-number readings are

  steepest  the rate where the smoothed loss falls fastest per unit of log(lr) (fastai's `valley`/`steep`)
  min / 10  one tenth of the rate with the lowest smoothed loss (the loss minimum is already at the edge
            of divergence, so back off by an order of magnitude)

The loss is smoothed with a bias-corrected exponential moving average (β = 0.98, as in Adam's first moment),
and the test stops early once the smoothed loss exceeds `diverge` × its minimum, or when the shared loop's
NaN/exploding-gradient alert fires. It runs through core.train.fit, so the same loop that trains the model
also measures its learning rate. Start from the weights you will train; the test changes them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from modelbook.core.train import Callback, LRSchedule, TrainingDiverged, fit


@dataclass
class LRRange:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    stop_reason: str = "finished"

    @property
    def steepest_lr(self) -> float:
        """The rate where d(smoothed loss)/d(log lr) is most negative (ignoring the first and last 10%)."""
        s, lr = np.array(self.smoothed), np.array(self.lrs)
        lo, hi = len(s) // 10, max(len(s) // 10 + 2, int(np.argmin(s)) + 1)
        slope = np.gradient(s[lo:hi], np.log(lr[lo:hi]))
        return float(lr[lo + int(np.argmin(slope))])

    @property
    def min_loss_lr(self) -> float:
        return float(self.lrs[int(np.argmin(self.smoothed))])

    @property
    def suggested_lr(self) -> float:
        """min / 10: one tenth of the rate at the lowest smoothed loss."""
        return self.min_loss_lr / 10

    @property
    def blowup(self) -> float:
        """The largest raw loss from the smoothed minimum on, over that minimum: well above 1 once the rate is too
        large. Raw, not smoothed: the EMA lags the raw loss by ~1/(1 − β) steps, and a short test can end inside the lag."""
        i = int(np.argmin(self.smoothed))
        return float(max(self.losses[i:]) / self.smoothed[i])


class _Recorder(Callback):
    def __init__(self, record: LRRange, n_steps: int, beta: float, diverge: float):
        self.record, self.n_steps, self.beta, self.diverge = record, n_steps, beta, diverge
        self.avg = 0.0

    def on_step_end(self, state, loss, grad_norm):
        r = self.record
        r.lrs.append(state.optimizer.param_groups[0]["lr"])   # the rate this step used (scheduler steps after us)
        r.losses.append(loss)
        self.avg = self.beta * self.avg + (1 - self.beta) * loss
        r.smoothed.append(self.avg / (1 - self.beta ** len(r.losses)))
        if r.smoothed[-1] > self.diverge * min(r.smoothed):
            state.stop_reason = r.stop_reason = f"smoothed loss above {self.diverge:g}× its minimum"
        elif len(r.losses) >= self.n_steps:
            state.stop_reason = "finished"


def lr_range_test(model: nn.Module, train_loader, optimizer: torch.optim.Optimizer, criterion: nn.Module,
                  lr_min: float = 1e-6, lr_max: float = 1.0, n_steps: int = 100, beta: float = 0.98,
                  diverge: float = 4.0) -> LRRange:
    """Run the range test on `model` with `optimizer` (its lr is overwritten); returns the recorded curve."""
    for group in optimizer.param_groups:
        group["lr"] = lr_min
        group["initial_lr"] = lr_min
    growth = (lr_max / lr_min) ** (1 / max(1, n_steps - 1))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: growth ** i)
    record = LRRange()
    # the recorder must read the lr before the scheduler steps it, so it goes first
    callbacks = [_Recorder(record, n_steps, beta, diverge), LRSchedule(scheduler, interval="step")]
    n_epochs = math.ceil(n_steps / max(1, len(train_loader)))
    try:
        fit(model, train_loader, optimizer, n_epochs, criterion=criterion, callbacks=callbacks, description="LR range test")
    except TrainingDiverged as e:  # the loop's alert is the test's natural end at huge rates
        record.stop_reason = str(e).split(":")[0]
    return record
