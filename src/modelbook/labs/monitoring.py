"""Monitoring: structured logs, TensorBoard, checkpoint-best, LR schedules, divergence alerts (topic 8).

What this lab shows
  1. One training run of an MLP on Fashion-MNIST through the shared loop (core.train.fit) writes a JSONL
     log (one line per epoch, fsynced) and TensorBoard event files; the lab reads the events back with
     tensorboard's own EventAccumulator and finds exactly the numbers of the run's history.
  2. Checkpoint-best on the validation metric: the saved weights are those of the best epoch (not the
     last), and a fresh model loaded from them reproduces that epoch's validation accuracy exactly.
  3. The four usual LR schedules (step decay, linear warmup + cosine, reduce-on-plateau, one-cycle) drive
     the same short training; their per-step learning rates are plotted, warmup + cosine equals torch's
     SequentialLR(LinearLR, CosineAnnealingLR) step by step, and reduce-on-plateau cuts the LR after exactly
     the epochs whose validation loss failed to beat its best by 5%.
  4. Alerts: an injected learning-rate spike and an injected corrupt (NaN) batch each stop training
     within a step or two with a one-line TrainingDiverged message, instead of silently writing NaN weights.
  5. Crash and resume: a run killed after epoch 2 and resumed from its last checkpoint ends with weights
     bit-identical to a run that was never interrupted (model, optimizer, scheduler and every RNG restored).

Differences from the references
  - The source lists "logging, visualization, validation monitoring, LR scheduling" as separate answers;
    here they are one loop's callbacks, so each is checked on the same run rather than described.
  - The schedules are compared on a 10-class MLP for a few epochs: their *shapes* are the lesson; which one
    wins at this scale is recorded as a metric, not claimed.

Building blocks: modelbook/core/train.py (fit, callbacks, alerts, resumable checkpoints), modelbook/core/schedules.py,
                 modelbook/nn/mlp.py
Cross-checks:    tests/core/test_train.py (resume equality, schedules vs transformers, alerts, TensorBoard
                 read-back); tests/labs/test_monitoring.py
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from modelbook.core import plots
from modelbook.core.result import LabResult
from modelbook.core.schedules import plateau_cuts, schedule
from modelbook.core.seed import rng as make_rng
from modelbook.core.train import (
    Callback,
    CheckpointBest,
    JsonlLogger,
    TensorBoard,
    TrainingDiverged,
    accuracy,
    evaluate,
    fit,
    load_best,
    supervised,
)
from modelbook.data import fashion_subsets, tensor_loader
from modelbook.nn.mlp import mlp

SCHEDULES = ("step", "cosine_warmup", "plateau", "one_cycle")
TORCH_TRAIN = "modelbook core.train.fit (tests/core/test_train.py)"
PIXELS, CLASSES = 784, 10   # Fashion-MNIST: 28 × 28 images, 10 classes
EVAL_BATCH = 1000           # batch of the validation loaders (no gradients: large, for speed)
WARMUP_FRACTION = 0.1       # cosine_warmup warms up over the first 10% of the steps (core.schedules' default)
PLATEAU_FACTOR = 0.1        # reduce-on-plateau multiplies the LR by 0.1 (core.schedules' and torch's default)
TORCH_PLATEAU_EPS = 1e-8    # ReduceLROnPlateau skips a cut smaller than its eps (torch's default)
SPIKE_LR, SGD_MOMENTUM = 0.05, 0.9  # the LR-spike run trains with SGD (momentum 0.9) at this rate until the spike
LR_SPIKE = 1e4              # the injected spike multiplies the LR by this
ALERT_MAX_EPOCHS = 50       # the divergence runs stop at the alert long before this
RESUME_DISTURB_SEED = 12345  # reseeded before resuming: any state a new process might start from
# Seed offsets: each part of the lab starts its models from its own initial weights, apart from the logged run's
SCHEDULE_STREAM = 1         # + 1: weights and batch order of the schedule runs (the same for every schedule)
ALERT_STREAM = 2            # + 2: weights of the two divergence runs (their batches come in the logged run's order)
RESUME_STREAM = 3           # + 3: weights and batch order of the crash-and-resume runs (straight, crashed, resumed)


@dataclass(frozen=True)
class Config:
    n_train: int = 20_000
    """Fashion-MNIST training images"""
    n_val: int = 5_000
    """validation images (held out from the training set)"""
    n_epochs: int = 12
    """epochs of the logged run"""
    schedule_train: int = 5_000
    """training images of each schedule run (a subset of the logged run's)"""
    schedule_epochs: int = 12
    """epochs of each schedule run"""
    schedule_batch_size: int = 32
    """mini-batch of the schedule runs (smaller than the logged run's: more steps for the per-step schedules)"""
    plateau_threshold: float = 0.05
    """reduce-on-plateau cuts the LR after any epoch whose val_loss is not 5% below the best so far (patience 0)"""
    hidden: int = 256
    batch_size: int = 64
    lr: float = 1e-3
    """Adam learning rate (the schedules' base rate)"""
    inject_at_step: int = 20
    """step at which the divergence runs inject a learning-rate spike or a NaN batch"""
    tensorboard_every: int = 5
    """optimizer steps between the per-step TensorBoard scalars of the logged run"""
    resume_epochs: int = 4
    """epochs of the crash-and-resume runs"""
    crash_after_epoch: int = 2
    """the crashed run is killed at the end of this epoch"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_train=1200, n_val=1000, n_epochs=6, schedule_train=400, schedule_epochs=8, hidden=128),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("monitoring", cfg)
    data = fashion_subsets(make_rng(cfg.seed), cfg.n_train, cfg.n_val)
    history = _logged_run(result, cfg, data, out)
    _schedules(result, cfg, data, out)
    _alerts(result, cfg, data, out)
    _resume(result, cfg, data, out)
    _plot_curves(history, out, result)
    return result


def _loaders(cfg: Config, data, seed_offset: int = 0):
    """seed_offset: the stream of the part of the lab that trains on them (0 for the logged run, see above)."""
    return (tensor_loader(*data["train"], cfg.batch_size, shuffle=True, seed=cfg.seed + seed_offset),
            tensor_loader(*data["val"], EVAL_BATCH))


def _model_and_optimizer(cfg: Config, seed: int, lr: float | None = None, sgd: bool = False):
    torch.manual_seed(seed)
    model = mlp(PIXELS, (cfg.hidden,), CLASSES)
    opt = (torch.optim.SGD(model.parameters(), lr=lr or cfg.lr, momentum=SGD_MOMENTUM) if sgd
           else torch.optim.Adam(model.parameters(), lr=lr or cfg.lr))
    return model, opt


# -- 1 + 2. a logged run: JSONL, TensorBoard read back, checkpoint-best ------------------------------
def _logged_run(result: LabResult, cfg: Config, data, out: Path) -> list[dict]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train, val = _loaders(cfg, data)
    model, opt = _model_and_optimizer(cfg, cfg.seed)
    best = CheckpointBest(out / "checkpoints", "val_acc", "max")
    callbacks = [schedule("cosine_warmup", opt, cfg.n_epochs, len(train)), JsonlLogger(out / "train_log.jsonl"),
                 TensorBoard(out / "tensorboard", every_n_steps=cfg.tensorboard_every), best]
    state = fit(model, train, opt, cfg.n_epochs, criterion=nn.CrossEntropyLoss(), val_loader=val,
                metrics={"acc": accuracy}, callbacks=callbacks, description="logged run")
    history = state.history
    result.note("logs in this run's folder: train_log.jsonl, tensorboard/ (tensorboard --logdir <run>/tensorboard), "
                "checkpoints/best.safetensors")

    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    jsonl = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    worst = 0.0
    for key in ("train_loss", "val_loss", "val_acc", "lr"):
        tb = np.array([e.value for e in events.Scalars(f"epoch/{key}")])
        worst = max(worst, np.abs(tb - [h[key] for h in history]).max() / max(1e-12, np.abs(tb).max()),
                    np.abs(np.array([j[key] for j in jsonl]) - [h[key] for h in history]).max())
    result.metric("log/epochs_logged_jsonl", len(jsonl))
    result.metric("log/tensorboard_scalar_tags", len(events.Tags()["scalars"]))
    result.metric("log/step_points_grad_norm", len(events.Scalars("step/grad_norm")))
    result.check("TensorBoard events and JSONL lines read back = the run's history (max relative diff)", worst, reference=0.0,
                 tolerance=1e-6, source="tensorboard 2.21 EventAccumulator; float32 storage of scalars", kind="at_most")
    result.check("one JSONL line per finished epoch", len(jsonl), reference=cfg.n_epochs, tolerance=0,
                 source="core.train.JsonlLogger contract (fsync per epoch)")

    accs = [h["val_acc"] for h in history]
    best_epoch = int(np.argmax(accs)) + 1
    result.metric("checkpoint/best_epoch", best_epoch)
    result.metric("checkpoint/best_val_acc", max(accs))
    result.metric("run/final_val_acc", accs[-1])
    result.metric("run/final_train_loss", history[-1]["train_loss"])
    fresh = load_best(mlp(PIXELS, (cfg.hidden,), CLASSES), out / "checkpoints")
    reloaded = evaluate(fresh, val, supervised(nn.CrossEntropyLoss()), {"acc": accuracy})["val_acc"]
    result.check("checkpoint-best reloaded into a fresh model: |val_acc − best epoch's val_acc|", abs(reloaded - max(accs)),
                 reference=0.0, tolerance=1e-9, source="safetensors round trip of core.train.CheckpointBest", kind="at_most")
    result.check("checkpoint-best kept the best epoch (by val_acc)", best.best_epoch, reference=best_epoch, tolerance=0,
                 source="definition of checkpoint-best (Keras ModelCheckpoint save_best_only)")
    if accs[-1] < max(accs):
        result.note(f"the last epoch's val_acc ({accs[-1]:.4f}) is below the best epoch's ({max(accs):.4f}, epoch "
                    f"{best_epoch}): keeping the last weights would have lost {max(accs) - accs[-1]:.4f}")
    return history


# -- 3. schedules --------------------------------------------------------------------------------------
def _schedules(result: LabResult, cfg: Config, data, out: Path) -> None:
    fig, ax = plots.figure(1, 2, size=(11, 3.8))
    x, y = data["train"]
    for name in SCHEDULES:
        train = tensor_loader(x[: cfg.schedule_train], y[: cfg.schedule_train], cfg.schedule_batch_size, shuffle=True,
                              seed=cfg.seed + SCHEDULE_STREAM)
        val = tensor_loader(*data["val"], EVAL_BATCH)
        model, opt = _model_and_optimizer(cfg, cfg.seed + SCHEDULE_STREAM)
        cb = schedule(name, opt, cfg.schedule_epochs, len(train), patience=0, threshold=cfg.plateau_threshold,
                      warmup_fraction=WARMUP_FRACTION, factor=PLATEAU_FACTOR)
        first_lr = opt.param_groups[0]["lr"]  # what the scheduler set for step 1 (0 for warmup)
        state = fit(model, train, opt, cfg.schedule_epochs, criterion=nn.CrossEntropyLoss(), val_loader=val,
                    metrics={"acc": accuracy}, callbacks=[cb], description=f"schedule {name}")
        lrs = np.array([first_lr] + cb.lrs[:-1])  # the rate each step used
        result.metric(f"schedules/{name}/final_val_acc", state.history[-1]["val_acc"])
        result.metric(f"schedules/{name}/peak_lr", lrs.max())
        result.metric(f"schedules/{name}/final_lr", cb.lrs[-1])
        ax[0].plot(lrs, label=name)
        ax[1].plot([h["epoch"] for h in state.history], [h["val_loss"] for h in state.history], "o-", label=name)
        if name == "cosine_warmup":
            ref = _torch_warmup_cosine(cfg.lr, int(WARMUP_FRACTION * len(lrs)), len(lrs))
            result.check("warmup + cosine LR per step vs torch SequentialLR(LinearLR, CosineAnnealingLR) (max |diff|)",
                         np.abs(lrs - ref).max(), reference=0.0, tolerance=1e-11, source="torch 2.13 torch.optim.lr_scheduler (start_factor 1e-9 "
                         "stands in for 0; tests/core/test_train.py also matches transformers' schedule)", kind="at_most")
        if name == "plateau":
            after = [h["lr"] for h in state.history[1:]] + [opt.param_groups[0]["lr"]]  # LR once each epoch ended
            _check_plateau(result, state.history, after, cfg.plateau_threshold)
    ax[0].set(xlabel="optimizer step", ylabel="learning rate", title="LR schedules (per step)")
    ax[1].set(xlabel="epoch", ylabel="validation loss", title="validation loss under each schedule")
    ax[0].legend(fontsize=8)
    ax[1].legend(fontsize=8)
    result.artifact(plots.save(fig, out / "lr_schedules.png"))


def _torch_warmup_cosine(lr: float, warmup: int, total: int) -> np.ndarray:
    """The same schedule built from torch's own schedulers, for the cross-check."""
    sched = torch.optim.lr_scheduler
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    seq = sched.SequentialLR(opt, [sched.LinearLR(opt, start_factor=1e-9, total_iters=warmup),
                                   sched.CosineAnnealingLR(opt, T_max=total - warmup)], milestones=[warmup])
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        seq.step()
    return np.array(lrs)


def _check_plateau(result: LabResult, history: list[dict], lr_after_epoch: list[float], threshold: float) -> None:
    """With patience 0, the LR must drop (× PLATEAU_FACTOR) after exactly the epochs whose val_loss is not below
    best × (1 − threshold) (core.schedules.plateau_cuts: torch's rule, mode min, relative threshold; a cut smaller
    than eps = 1e-8 is skipped): count the epochs where the schedule and the rule disagree."""
    disagreements, cuts = 0, 0
    lr_before = [h["lr"] for h in history]
    rule = plateau_cuts([h["val_loss"] for h in history], lr_before, threshold, PLATEAU_FACTOR, TORCH_PLATEAU_EPS)
    for before, after, expected in zip(lr_before, lr_after_epoch, rule):
        cut = after < before * (1 - 1e-9)                     # fell, beyond float rounding
        cuts += cut
        disagreements += cut != expected
    result.metric("schedules/plateau/lr_cuts", cuts)
    result.check("reduce-on-plateau: LR cuts happened (at least one in the run)", cuts, reference=1, tolerance=0,
                 source="Fashion-MNIST MLP: val_loss improvement falls under 5%/epoch within a few epochs", kind="at_least")
    result.check("reduce-on-plateau cut exactly after the stalled epochs (epochs where rule and schedule disagree)",
                 disagreements, reference=0, tolerance=0, source="torch.optim.lr_scheduler.ReduceLROnPlateau docs (mode min, threshold_mode rel)",
                 kind="at_most")


# -- 4. alerts -----------------------------------------------------------------------------------------
class _Inject(Callback):
    """Fault injection for the demo: at step k multiply the LR by `lr_factor`, or poison the next batch."""

    def __init__(self, at_step: int, lr_factor: float | None = None, poison: list | None = None):
        self.at_step, self.lr_factor, self.poison = at_step, lr_factor, poison

    def on_step_end(self, state, loss, grad_norm):
        if state.step == self.at_step:
            if self.lr_factor:
                for g in state.optimizer.param_groups:
                    g["lr"] *= self.lr_factor
            if self.poison is not None:
                self.poison.append(True)


def _alerts(result: LabResult, cfg: Config, data, out: Path) -> None:
    train, _ = _loaders(cfg, data)
    k = cfg.inject_at_step

    model, opt = _model_and_optimizer(cfg, cfg.seed + ALERT_STREAM, lr=SPIKE_LR, sgd=True)
    caught_at, message = _run_until_alert(model, opt, train, [_Inject(k, lr_factor=LR_SPIKE)])
    result.metric("alerts/lr_spike/steps_to_alert", caught_at - k)
    result.check("LR spike ×1e4 at step k: alert fires within 3 steps", caught_at - k, reference=1, tolerance=2,
                 source="core.train alert: NaN/inf loss or gradient norm > max_grad_norm_alert (1e4)", kind="at_most",
                 note=message)

    poison: list = []

    def loss_fn(model, batch):
        x, y = batch
        if poison:  # a corrupt batch: one NaN pixel, as a bad decode or a divide-by-zero upstream would give
            poison.clear()
            x = x.clone()
            x.view(-1)[0] = float("nan")
        return nn.functional.cross_entropy(model(x), y)

    model, opt = _model_and_optimizer(cfg, cfg.seed + ALERT_STREAM)
    caught_at, message = _run_until_alert(model, opt, train, [_Inject(k, poison=poison)], loss_fn=loss_fn)
    result.metric("alerts/nan_batch/steps_to_alert", caught_at - k)
    result.check("NaN batch after step k: alert fires on that very step (k + 1)", caught_at - k, reference=1, tolerance=0,
                 source="core.train alert: loss is NaN/inf", note=message)
    finite = all(torch.isfinite(p).all() for p in model.parameters())
    result.check("weights still finite after the alert (the bad step was never applied)", float(finite), reference=1.0, tolerance=0.0,
                 source="core.train: the NaN check runs before backward and optimizer.step")


def _run_until_alert(model, opt, train, callbacks, loss_fn=None) -> tuple[int, str]:
    steps: list[int] = []

    class Count(Callback):
        def on_step_end(self, state, loss, grad_norm):
            steps.append(state.step)

    try:
        fit(model, train, opt, ALERT_MAX_EPOCHS, loss_fn=loss_fn, criterion=None if loss_fn else nn.CrossEntropyLoss(),
            callbacks=[*callbacks, Count()], description="divergence injection")
    except TrainingDiverged as e:
        return (steps[-1] if steps else 0) + 1, str(e)
    return 10**9, "no alert"  # far past any tolerance: the checks fail


# -- 5. crash and resume -------------------------------------------------------------------------------
class _Crash(Callback):
    def __init__(self, after_epoch: int):
        self.after_epoch = after_epoch

    def on_epoch_end(self, state):
        if state.epoch == self.after_epoch:
            raise KeyboardInterrupt("simulated crash")


def _resume(result: LabResult, cfg: Config, data, out: Path) -> None:
    n_epochs = cfg.resume_epochs

    def attempt(directory: Path, crash: bool, resume: bool):
        train, val = _loaders(cfg, data, seed_offset=RESUME_STREAM)
        model, opt = _model_and_optimizer(cfg, cfg.seed + RESUME_STREAM)
        callbacks = [schedule("one_cycle", opt, n_epochs, len(train)), CheckpointBest(directory, "val_loss")]
        if crash:
            callbacks.append(_Crash(cfg.crash_after_epoch))
        else:
            callbacks.append(Callback())  # same number of callbacks as the crashed run saved
        fit(model, train, opt, n_epochs, criterion=nn.CrossEntropyLoss(), val_loader=val, callbacks=callbacks,
            checkpoint_dir=directory, resume=resume, description="resume demo")
        return model

    straight = attempt(out / "resume_straight", crash=False, resume=False)
    try:
        attempt(out / "resume_crashed", crash=True, resume=False)
    except KeyboardInterrupt:
        pass
    torch.manual_seed(RESUME_DISTURB_SEED)  # a new process would start from other random state: resume must not care
    resumed = attempt(out / "resume_crashed", crash=False, resume=True)
    diff = max(float((a - b).abs().max()) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))
    result.metric("resume/max_abs_weight_diff", diff)
    result.check(f"crashed after epoch {cfg.crash_after_epoch} + resumed = uninterrupted run (max |weight diff|)", diff, reference=0.0, tolerance=0.0,
                 source=TORCH_TRAIN + "; resumable checkpoints restore model, optimizer, scheduler and RNG state",
                 kind="at_most")


# -- plots ---------------------------------------------------------------------------------------------
def _plot_curves(history: list[dict], out: Path, result: LabResult) -> None:
    epochs = [h["epoch"] for h in history]
    fig, ax = plots.figure(1, 2, size=(10, 3.6))
    ax[0].plot(epochs, [h["train_loss"] for h in history], "o-", label="train (running mean)")
    ax[0].plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax[0].set(xlabel="epoch", ylabel="cross-entropy", title="loss, read back from TensorBoard = history")
    ax[0].legend()
    ax[1].plot(epochs, [h["val_acc"] for h in history], "o-", color="tab:green")
    best = int(np.argmax([h["val_acc"] for h in history]))
    ax[1].axvline(epochs[best], ls=":", color="k", label="checkpoint-best")
    ax[1].set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
    ax[1].legend()
    result.artifact(plots.save(fig, out / "learning_curves.png"))
