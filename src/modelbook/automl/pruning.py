"""Stopping bad trials early: the median rule, and an objective that reports after every epoch.

Median stopping rule (Golovin et al. 2017, Google Vizier §3.2.2; Optuna's MedianPruner): after a warm-up, stop
a trial at step s when its best value so far is worse than the median of the values that the *completed* trials
reported at step s. Written out here as `median_should_prune`, which makes the same decision as Optuna's
MedianPruner given the same history (tests/automl/test_pruning.py; the lab counts disagreements in a real study).

SoftmaxSGD is the iterative objective: multinomial logistic regression on the digits (8×8 images), trained by
minibatch SGD with momentum and weight decay in NumPy; the validation error is reported after every epoch,
which is what lets a pruner stop a trial whose learning rate is hopeless after a couple of epochs.
"""
from __future__ import annotations

import math

import numpy as np


def median_should_prune(current: dict[int, float], completed: list[dict[int, float]], step: int,
                        n_startup_trials: int = 5, n_warmup_steps: int = 0) -> bool:
    """Minimisation. current: this trial's {step: value} so far (including `step`); completed: the finished
    trials' {step: value}. Prune when best(current) > median of the completed trials' values at `step`."""
    if len(completed) == 0 or len(completed) < n_startup_trials or step < n_warmup_steps:
        return False
    best = np.nanmin(np.asarray(list(current.values()), dtype=float))
    if math.isnan(best):
        return True
    at_step = [c[step] for c in completed if step in c]
    if not at_step:
        return False
    median = float(np.nanpercentile(np.asarray(at_step, dtype=float), 50))
    return bool(best > median)


class SoftmaxSGD:
    """Softmax regression on the digits; `train(trial-like, report)` runs epochs and reports the validation error."""

    def __init__(self, seed: int, n_train: int = 600, n_val: int = 600, epochs: int = 12, batch: int = 32):
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        order = np.random.default_rng(seed).permutation(len(y))
        x = x / 16.0
        tr, va = order[:n_train], order[n_train:n_train + n_val]
        self.xt, self.yt, self.xv, self.yv = x[tr], y[tr], x[va], y[va]
        self.epochs, self.batch, self.seed = epochs, batch, seed
        self.epochs_run = 0

    def objective(self, trial, report) -> float:
        """report(value, epoch) -> True to stop (a pruned trial). Returns the last validation error."""
        lr = trial.suggest_float("lr", 1e-5, 10.0, log=True)
        wd = trial.suggest_float("weight_decay", 1e-7, 1.0, log=True)
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
        rng = np.random.default_rng(self.seed)  # the same minibatch order in every trial: differences come from the hyper-parameters
        w = np.zeros((self.xt.shape[1] + 1, 10))
        v = np.zeros_like(w)
        xt = np.hstack([self.xt, np.ones((len(self.xt), 1))])
        xv = np.hstack([self.xv, np.ones((len(self.xv), 1))])
        onehot = np.eye(10)[self.yt]
        err = 1.0
        for epoch in range(self.epochs):
            self.epochs_run += 1
            for idx in np.array_split(rng.permutation(len(xt)), max(1, len(xt) // self.batch)):
                logits = xt[idx] @ w
                logits -= logits.max(1, keepdims=True)
                p = np.exp(logits)
                p /= p.sum(1, keepdims=True)
                grad = xt[idx].T @ (p - onehot[idx]) / len(idx) + wd * w
                v = momentum * v - lr * grad
                w = w + v
            with np.errstate(invalid="ignore", over="ignore"):
                pred = np.argmax(np.nan_to_num(xv @ w, nan=0.0), 1)
            err = float(np.mean(pred != self.yv))
            if report(err, epoch):
                break
        return err


def compared_search(problem, seed: int, trials: int, pruned: bool, startup: int, warmup: int):
    """One TPE search over `problem` (an objective(trial, report) that reports each epoch), with Optuna's
    MedianPruner(startup, warmup) or with no pruner. With the pruner, our median_should_prune is asked the same
    question at every reported epoch. Returns (study, epochs run, decisions compared, disagreements)."""
    import optuna

    pruner = optuna.pruners.MedianPruner(startup, warmup) if pruned else optuna.pruners.NopPruner()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    before = problem.epochs_run
    counts = {"decisions": 0, "disagreements": 0}

    def objective(trial):
        def report(value, epoch):
            trial.report(value, epoch)
            if not pruned:
                return False
            theirs = trial.should_prune()
            done = [t.intermediate_values for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
            frozen = study._storage.get_trial(trial._trial_id)
            ours = median_should_prune(frozen.intermediate_values, done, epoch, startup, warmup)
            counts["decisions"] += 1
            counts["disagreements"] += ours != theirs
            return theirs

        value = problem.objective(trial, report)
        if pruned and trial.should_prune():
            raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=trials)
    return study, problem.epochs_run - before, counts["decisions"], counts["disagreements"]
