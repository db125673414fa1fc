"""One small training loop for supervised mini-batch learning, with callbacks.

    history = fit(model, train_loader, optimizer, n_epochs=10, criterion=nn.CrossEntropyLoss(),
                  val_loader=val_loader, metrics={"acc": accuracy},
                  callbacks=[LRSchedule(cosine_with_warmup(optimizer, 50, 1000), interval="step"),
                             EarlyStopping("val_loss", patience=3), CheckpointBest(dir, "val_acc", "max"),
                             JsonlLogger(dir / "log.jsonl"), TensorBoard(dir / "tb")],
                  clip_grad_norm=1.0)

What happens, in order, each epoch:
  for each batch: zero grads → loss = loss_fn(model, batch) → stop if the loss is NaN/inf → backward →
  measure (and clip) the gradient norm → stop if it explodes → optimizer step → callbacks' on_step_end
  (a callback that sets state.stop_reason there ends the epoch early: LR range test, step budgets)
  then: evaluate on the validation loader (and any `eval_loaders`, e.g. {"train": ...} for the
  train/validation gap) → callbacks' on_epoch_end (schedulers, logging, checkpoints, early stopping)
  → save a resumable checkpoint if asked.

Resuming (`resume=True` with `checkpoint_dir`) restores the model, optimizer, callbacks, epoch counter and
every random stream (torch, NumPy, Python, and the loader's shuffling generator) saved at the end of the last
finished epoch, so a resumed run ends with exactly the same weights as an uninterrupted one
(core/checkpoint.py; tests/core/test_train.py checks it). LR schedules, cosine_with_warmup
among them: core/schedules.py (it imports LRSchedule from here; this module does not import it back).

Labs where the update rule is the lesson (RL, GANs, MAML, DP-SGD, FedAvg) write their own loop instead
(STYLE.md C8); everything else calls `fit`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from modelbook.core import progress
from modelbook.core.checkpoint import load_training_state, save_training_state
from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_bytes

LossFn = Callable[[nn.Module, tuple], torch.Tensor]


class TrainingDiverged(ModelbookError):
    """Training stopped because the loss became NaN/inf or the gradient norm exploded."""

    exit_code = 1


@dataclass
class TrainState:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    epoch: int = 0  # epochs finished
    step: int = 0  # optimizer steps taken
    logs: dict[str, float] = field(default_factory=dict)  # the last epoch's numbers
    history: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str | None = None


class Callback:
    """Override what you need. `state_dict`/`load_state_dict` let a resumed run continue exactly."""

    def on_step_end(self, state: TrainState, loss: float, grad_norm: float) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None: ...


# -- the loop ----------------------------------------------------------------------------------------
def fit(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, n_epochs: int,
        criterion: nn.Module | None = None, loss_fn: LossFn | None = None, val_loader: Iterable | None = None,
        metrics: dict[str, Callable] | None = None, callbacks: list[Callback] = (), clip_grad_norm: float | None = None,
        max_grad_norm_alert: float = 1e4, checkpoint_dir: Path | None = None, resume: bool = False,
        description: str = "training", eval_loaders: dict[str, Iterable] | None = None) -> TrainState:
    """Train `model` for up to `n_epochs` epochs; returns the final TrainState (history in .history).

    criterion(outputs, targets) for the usual (x, y) batches, or loss_fn(model, batch) for anything else
    (distillation, multi-task sums). metrics: name -> fn(outputs, targets) on the whole validation set.
    eval_loaders: more sets evaluated each epoch like the validation set, logged as "<name>_loss",
    "<name>_<metric>" (train_loss alone is a running mean under dropout, not the model's train loss).
    """
    if (criterion is None) == (loss_fn is None):
        raise ValueError("give exactly one of criterion or loss_fn")
    loss_fn = loss_fn or supervised(criterion)
    state = TrainState(model, optimizer)
    callbacks = list(callbacks)
    if resume and checkpoint_dir is not None and (Path(checkpoint_dir) / "last.pt").exists():
        load_training_state(Path(checkpoint_dir) / "last.pt", state, callbacks, train_loader)
    params = [p for p in model.parameters() if p.requires_grad]
    for _ in progress.track(range(state.epoch, n_epochs), description):
        model.train()
        total, count = 0.0, 0
        for batch in progress.track(train_loader, f"  epoch {state.epoch + 1}/{n_epochs}"):
            # -- the update --
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss became {loss.item()} at epoch {state.epoch + 1}, step {state.step + 1}: "
                                       f"lower the learning rate or check the inputs")
            loss.backward()
            grad_norm = float(nn.utils.clip_grad_norm_(params, clip_grad_norm or math.inf))
            if not math.isfinite(grad_norm) or grad_norm > max_grad_norm_alert:
                raise TrainingDiverged(f"exploding gradient: norm {grad_norm:.3g} > {max_grad_norm_alert:g} at epoch "
                                       f"{state.epoch + 1}, step {state.step + 1}: lower the learning rate or clip gradients")
            optimizer.step()
            # -- bookkeeping --
            state.step += 1
            n = _batch_size(batch)
            total, count = total + loss.item() * n, count + n
            for cb in callbacks:
                cb.on_step_end(state, loss.item(), grad_norm)
            if state.stop_reason:
                break
        state.epoch += 1
        state.logs = {"epoch": state.epoch, "train_loss": total / max(count, 1), "lr": optimizer.param_groups[0]["lr"]}
        if val_loader is not None:
            state.logs.update(evaluate(model, val_loader, loss_fn, metrics or {}))
        for name, loader in (eval_loaders or {}).items():
            state.logs.update(evaluate(model, loader, loss_fn, metrics or {}, prefix=name))
        state.history.append(dict(state.logs))
        for cb in callbacks:
            cb.on_epoch_end(state)
        if checkpoint_dir is not None:
            save_training_state(Path(checkpoint_dir) / "last.pt", state, callbacks, train_loader)
        if state.stop_reason:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return state


def supervised(criterion: nn.Module) -> LossFn:
    """loss_fn for (inputs, targets) batches: criterion(model(inputs), targets)."""
    def loss_fn(model, batch):
        return criterion(model(batch[0]), batch[1])
    loss_fn.criterion = criterion  # lets evaluate() reuse one forward pass for the loss and the metrics
    return loss_fn


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: LossFn, metrics: dict[str, Callable],
             prefix: str = "val") -> dict[str, float]:
    """<prefix>_loss (mean over examples) and each metric computed on all the set's outputs at once."""
    model.eval()
    criterion = getattr(loss_fn, "criterion", None)
    total, count, outputs, targets = 0.0, 0, [], []
    for batch in loader:
        n = _batch_size(batch)
        if metrics and criterion is not None:
            out = model(batch[0])
            loss = criterion(out, batch[1])
        else:
            loss, out = loss_fn(model, batch), (model(batch[0]) if metrics else None)
        total, count = total + float(loss) * n, count + n
        if metrics:
            outputs.append(out)
            targets.append(batch[1])
    logs = {f"{prefix}_loss": total / max(count, 1)}
    if metrics:
        out, tgt = torch.cat(outputs), torch.cat(targets)
        logs.update({f"{prefix}_{name}": float(fn(out, tgt)) for name, fn in metrics.items()})
    return logs


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((outputs.argmax(dim=-1) == targets).float().mean())


def class_weights(labels, n_classes: int | None = None) -> torch.Tensor:
    """"Balanced" class weights n / (k · count_c) (King & Zeng 2001; sklearn's compute_class_weight), for a
    weighted loss: nn.CrossEntropyLoss(weight=class_weights(y_train))."""
    labels = torch.as_tensor(np.asarray(labels))
    counts = torch.bincount(labels, minlength=n_classes or 0).float()
    return len(labels) / (len(counts) * counts.clamp(min=1))


def _batch_size(batch) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return len(first)


# -- callbacks ---------------------------------------------------------------------------------------
class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; optionally restore the best
    weights at the end."""

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 5, min_delta: float = 0.0,
                 restore_best: bool = True):
        self.monitor, self.sign, self.patience, self.min_delta, self.restore_best = monitor, (1 if mode == "min" else -1), patience, min_delta, restore_best
        self.best, self.bad_epochs, self.best_epoch, self.best_weights = math.inf, 0, 0, None

    def on_epoch_end(self, state):
        value = self.sign * state.logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.bad_epochs, self.best_epoch = value, 0, state.epoch
            if self.restore_best:
                self.best_weights = {k: v.detach().clone() for k, v in state.model.state_dict().items()}
        else:
            self.bad_epochs += 1
            if self.bad_epochs >= self.patience:
                state.stop_reason = f"early stopping: {self.monitor} did not improve for {self.patience} epochs (best at epoch {self.best_epoch})"

    def on_train_end(self, state):
        if self.restore_best and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs, "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, d):
        self.best, self.bad_epochs, self.best_epoch, self.best_weights = d["best"], d["bad_epochs"], d["best_epoch"], d["best_weights"]


class LRSchedule(Callback):
    """Step a torch LR scheduler every optimizer step (warmup/cosine, one-cycle) or every epoch (step decay);
    ReduceLROnPlateau is stepped with the monitored validation number."""

    def __init__(self, scheduler, interval: str = "epoch", monitor: str = "val_loss"):
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor
        self.lrs: list[float] = []

    def on_step_end(self, state, loss, grad_norm):
        if self.interval == "step":
            self.scheduler.step()
        self.lrs.append(state.optimizer.param_groups[0]["lr"])

    def on_epoch_end(self, state):
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(state.logs[self.monitor])
        elif self.interval == "epoch":
            self.scheduler.step()

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict(), "lrs": self.lrs}

    def load_state_dict(self, d):
        self.scheduler.load_state_dict(d["scheduler"])
        self.lrs = list(d["lrs"])


class CheckpointBest(Callback):
    """Keep the weights of the best epoch by `monitor` in `directory/best.safetensors` (atomic write)."""

    def __init__(self, directory: Path, monitor: str = "val_loss", mode: str = "min"):
        self.path = Path(directory) / "best.safetensors"
        self.monitor, self.sign = monitor, (1 if mode == "min" else -1)
        self.best, self.best_epoch = math.inf, 0

    def on_epoch_end(self, state):
        value = self.sign * state.logs[self.monitor]
        if value < self.best:
            from safetensors.torch import save

            self.best, self.best_epoch = value, state.epoch
            tensors = {k: v.detach().contiguous().clone() for k, v in state.model.state_dict().items()}
            atomic_write_bytes(self.path, save(tensors, metadata={"epoch": str(state.epoch), self.monitor: str(state.logs[self.monitor])}))

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, d):
        self.best, self.best_epoch = d["best"], d["best_epoch"]


def load_best(model: nn.Module, directory: Path) -> nn.Module:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(Path(directory) / "best.safetensors")))
    return model


class JsonlLogger(Callback):
    """One JSON line per epoch (flushed and fsynced, so a crash loses at most the epoch in progress)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, state):
        import os

        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(state.logs) + "\n")
            f.flush()
            os.fsync(f.fileno())


class TensorBoard(Callback):
    """Scalars per epoch (losses, metrics, lr) and per step (loss, gradient norm) for `tensorboard --logdir`."""

    def __init__(self, log_dir: Path, every_n_steps: int = 10):
        from torch.utils.tensorboard import SummaryWriter

        self.writer, self.every = SummaryWriter(str(log_dir)), every_n_steps

    def on_step_end(self, state, loss, grad_norm):
        if state.step % self.every == 0:
            self.writer.add_scalar("step/loss", loss, state.step)
            self.writer.add_scalar("step/grad_norm", grad_norm, state.step)

    def on_epoch_end(self, state):
        for key, value in state.logs.items():
            if key != "epoch":
                self.writer.add_scalar(f"epoch/{key}", value, state.epoch)
        self.writer.flush()

    def on_train_end(self, state):
        self.writer.close()
