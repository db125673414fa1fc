"""Overfitting: L1, L2, dropout, augmentation and early stopping vs none; k-fold and nested CV (topic 7).

What this lab shows
  1. An MLP trained on a few hundred Fashion-MNIST images memorises them: training loss near zero,
     validation loss far above it. Five regularisers, each added to the same recipe through core.train.fit,
     shrink that train/validation gap: an L1 penalty, an L2 penalty, dropout (p = 0.5), data augmentation
     (random 2-pixel shifts and mirror flips) and early stopping on the validation loss (best weights restored).
     The gap is measured on the model in eval mode, on the training set and on a held-out validation set.
  2. Regularisers trade fit for gap: some lower the gap partly by raising the training loss, so the lab also
     reports validation and test accuracy — a smaller gap is not automatically a better model.
  3. Cross-validation estimates generalisation; it does not prevent overfitting. Choosing k for k-NN by the
     best 5-fold CV score over a grid gives an optimistic number: on labels that are pure coin flips (nothing
     to learn, true accuracy 0.5) the best plain-CV score sits well above 0.5, while nested CV (the selection
     repeated inside each outer fold) stays at chance (Varma & Simon 2006; Cawley & Talbot 2010).
  4. On real labels, the nested-CV estimate agrees on average with the accuracy the selected model reaches on a
     large held-out test set (averaged over several training sets: one estimate is unbiased, not precise).

Differences from the references
  - The papers report accuracies on full datasets; here the training set is deliberately tiny so that
    overfitting is strong enough to measure in seconds. The checks test the direction each paper reports
    (smaller gap with the regulariser; selection bias of plain CV), not their numbers.
  - The gap is a loss gap (validation − training cross-entropy). With a few hundred images the training
    accuracy saturates at 1.0 for most methods, so the accuracy gap is reported but not checked.

Building blocks: modelbook/nn/losses.py (l1_penalty, l2_penalty), modelbook/data/augment.py,
                 modelbook/evaluation/cv.py (kfold, grid_cv, nested_cv, knn_scores, euclidean_distances),
                 modelbook/core/train.py
Cross-checks:    tests/evaluation/test_cv.py (vs scikit-learn), tests/nn/test_losses.py, tests/data/test_augment.py,
                 tests/labs/test_overfitting.py
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modelbook.core import plots
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.core.train import EarlyStopping, accuracy, evaluate, fit, supervised
from modelbook.data import fashion_subsets, tensor_loader
from modelbook.data.augment import augment
from modelbook.evaluation.cv import euclidean_distances, grid_cv, kfold, knn_scores, nested_cv
from modelbook.nn.losses import l1_penalty, l2_penalty
from modelbook.nn.mlp import mlp

METHODS = ("none", "L1", "L2", "dropout", "augmentation", "early stopping")
SOURCES = {
    "L1": "Tibshirani 1996, Regression Shrinkage and Selection via the Lasso",
    "L2": "Krogh & Hertz 1992, A Simple Weight Decay Can Improve Generalization",
    "dropout": "Srivastava et al. 2014, Dropout, JMLR 15, §6 (test error falls on MNIST)",
    "augmentation": "Simard, Steinkraus & Platt 2003, Best Practices for CNNs Applied to Visual Document Analysis",
    "early stopping": "Prechelt 1998, Early Stopping — But When?",
}
VARMA = "Varma & Simon 2006, Bias in error estimation when using cross-validation for model selection (BMC Bioinf. 7:91)"
PIXELS, CLASSES = 784, 10  # Fashion-MNIST: 28 × 28 images, 10 classes
EVAL_BATCH = 1000          # batch of the evaluation loaders (no gradients: large, for speed)
NESTED_BIAS_TOL = 0.03     # |nested CV − test accuracy| allowed on average; a per-set spread above it earns a note
CHANCE_Z = 3.29            # two-sided 99.9% normal quantile: the random-label mean may stray this many binomial SEs


@dataclass(frozen=True)
class Config:
    n_train: int = 1000
    """training images (small on purpose)"""
    n_val: int = 2000
    n_test: int = 5000
    """official test-set images for the final accuracies"""
    hidden: int = 256
    epochs: int = 30
    lr: float = 3e-3
    """Adam learning rate (high, so that the unregularised net overfits within the epochs)"""
    l1: float = 5e-4
    """λ of the L1 penalty λ·Σ|w| added to the mean cross-entropy"""
    l2: float = 1e-2
    """λ of the L2 penalty λ·½Σw²"""
    dropout: float = 0.5
    batch_size: int = 32
    """training mini-batch"""
    augment_shift: int = 2
    """augmentation: largest random shift in pixels (plus mirror flips)"""
    patience: int = 3
    """early stopping: epochs without a better validation loss"""
    cv_n: int = 500
    """images for the k-NN model selection on real labels"""
    cv_test: int = 2000
    """held-out images (same pool) that give the selected model's true accuracy"""
    cv_random_n: int = 100
    """examples per random-label dataset"""
    cv_random_reps: int = 30
    """random-label datasets averaged"""
    cv_reps: int = 20
    """real-label training sets averaged"""
    cv_folds: int = 5
    """folds of the plain CV and of nested CV's outer loop"""
    cv_inner_folds: int = 4
    """folds of nested CV's inner loop (the selection inside each outer training set)"""
    ks: tuple[int, ...] = tuple(range(1, 50, 2))
    """the grid: k of k-NN"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_train=200, n_val=500, n_test=1000, hidden=128, epochs=16, cv_n=500, cv_test=1000, cv_reps=10),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("overfitting", cfg)
    rng = make_rng(cfg.seed)
    data = fashion_subsets(rng, cfg.n_train, cfg.n_val, cfg.n_test)
    histories = _regularisers(result, cfg, data)
    _plot_gaps(histories, result, out)
    _cross_validation(result, cfg, rng, out)
    return result


# -- 1 + 2. regularisers ------------------------------------------------------------------------------
def _regularisers(result: LabResult, cfg: Config, data) -> dict[str, list[dict]]:
    loaders = {name: tensor_loader(*data[name], EVAL_BATCH) for name in ("train", "val", "test")}
    ce = supervised(nn.CrossEntropyLoss())
    gaps, histories = {}, {}
    for method in METHODS:
        torch.manual_seed(cfg.seed)                       # the same initial weights for every method
        model = mlp(PIXELS, (cfg.hidden,), CLASSES, dropout=cfg.dropout if method == "dropout" else 0.0)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        gen = torch.Generator().manual_seed(cfg.seed)
        callbacks = [EarlyStopping("val_loss", patience=cfg.patience)] if method == "early stopping" else []
        state = fit(model, tensor_loader(*data["train"], cfg.batch_size, shuffle=True, seed=cfg.seed), opt, cfg.epochs,
                    loss_fn=_loss_fn(method, cfg, gen), val_loader=loaders["val"], metrics={"acc": accuracy},
                    eval_loaders={"train": loaders["train"]}, callbacks=callbacks, description=method)
        histories[method] = state.history
        ev = {name: evaluate(model, loader, ce, {"acc": accuracy}, prefix=name) for name, loader in loaders.items()}
        loss_gap = ev["val"]["val_loss"] - ev["train"]["train_loss"]
        gaps[method] = result.metric(f"gap/loss/{method}", loss_gap)
        result.metric(f"gap/accuracy/{method}", ev["train"]["train_acc"] - ev["val"]["val_acc"])
        result.metric(f"train_loss/{method}", ev["train"]["train_loss"])
        result.metric(f"val_acc/{method}", ev["val"]["val_acc"])
        result.metric(f"test_acc/{method}", ev["test"]["test_acc"])
        result.metric(f"epochs_run/{method}", state.epoch)
    for method in METHODS[1:]:
        result.check(f"{method}: train/validation loss gap relative to no regularisation", gaps[method] / gaps["none"],
                     reference=0.95, tolerance=0.0, source=SOURCES[method], kind="at_most")
    worse = [m for m in METHODS[1:] if result.value(f"val_acc/{m}") < result.value("val_acc/none")]
    if worse:
        result.note("smaller gap, not better accuracy: " + ", ".join(
            f"{m} {result.value(f'val_acc/{m}'):.3f}" for m in worse) + f" vs none {result.value('val_acc/none'):.3f} "
            f"validation accuracy at {cfg.epochs} epochs (these regularisers also raise the training loss; "
            "augmentation in particular needs more epochs to pay off)")
    return histories


def _loss_fn(method: str, cfg: Config, gen: torch.Generator):
    def loss_fn(model, batch):
        x, y = batch
        if method == "augmentation" and model.training:
            x = augment(x, gen, max_shift=cfg.augment_shift)
        loss = F.cross_entropy(model(x), y)
        if model.training and method == "L1":
            loss = loss + cfg.l1 * l1_penalty(model)
        if model.training and method == "L2":
            loss = loss + cfg.l2 * l2_penalty(model)
        return loss
    return loss_fn


def _plot_gaps(histories: dict[str, list[dict]], result: LabResult, out: Path) -> None:
    fig, ax = plots.figure(1, 2, size=(11, 3.8))
    for method, hist in histories.items():
        ep = [h["epoch"] for h in hist]
        line, = ax[0].plot(ep, [h["val_loss"] for h in hist], "-", label=method)
        ax[0].plot(ep, [h["train_loss"] for h in hist], ":", color=line.get_color())
    ax[0].set(xlabel="epoch", ylabel="cross-entropy", title="validation (solid) and training (dotted) loss")
    ax[0].legend(fontsize=7)
    gaps = [result.value(f"gap/loss/{m}") for m in histories]
    ax[1].bar(range(len(gaps)), gaps, color=["grey"] + ["tab:blue"] * (len(gaps) - 1))
    ax[1].set(xticks=range(len(gaps)), ylabel="val − train loss (eval mode)", title="train/validation gap")
    ax[1].set_xticklabels(list(histories), rotation=30, fontsize=8)
    result.artifact(plots.save(fig, out / "regularisers.png"))


# -- 3 + 4. cross-validation --------------------------------------------------------------------------
def _cross_validation(result: LabResult, cfg: Config, rng, out: Path) -> None:
    ks = np.array(cfg.ks)
    # random labels: nothing to learn, every honest estimate should be 0.5
    plain, nested = [], []
    for _ in range(cfg.cv_random_reps):
        data = fashion_subsets(rng, cfg.cv_random_n, 0)
        x = data["train"][0].flatten(1).numpy().astype(np.float64)
        y = rng.integers(0, 2, len(x))
        score = knn_scores(euclidean_distances(x), y, ks)
        plain.append(grid_cv(score, kfold(len(y), cfg.cv_folds, rng)).max())
        nested.append(nested_cv(score, len(y), cfg.cv_folds, cfg.cv_inner_folds, rng)[0].mean())
    p, n_ = result.metric("cv_random_labels/plain_cv_best", np.mean(plain)), result.metric("cv_random_labels/nested_cv", np.mean(nested))
    result.metric("cv_random_labels/optimism", p - n_)
    result.check("random labels: best plain-CV accuracy over the k grid is optimistic (above chance 0.5)", p, reference=0.53, tolerance=0.0,
                 source=VARMA, kind="at_least")
    # every one of the reps × n held-out predictions is a coin flip against a fresh random label, so an honest
    # estimate's mean has the binomial standard error 0.5 / sqrt(reps × n) (measured over 40 seeds: 0.009 at 3,000)
    chance_tol = CHANCE_Z * 0.5 / np.sqrt(cfg.cv_random_reps * cfg.cv_random_n)
    result.check("random labels: nested CV stays at chance (|nested − 0.5|, within the 99.9% binomial interval)",
                 abs(n_ - 0.5), reference=0.0, tolerance=float(chance_tol),
                 source=VARMA + "; Cawley & Talbot 2010 JMLR 11", kind="at_most")

    # real labels: select k on cv_n training images, compare the estimates with a large test set, cv_reps times
    plain_bias, nested_bias = [], []
    for rep in range(cfg.cv_reps):
        data = fashion_subsets(rng, cfg.cv_n, cfg.cv_test)    # held-out images from the same pool ("val")
        xtr, ytr = data["train"][0].flatten(1).numpy().astype(np.float64), data["train"][1].numpy()
        xte, yte = data["val"][0].flatten(1).numpy().astype(np.float64), data["val"][1].numpy()
        score = knn_scores(euclidean_distances(np.vstack([xtr, xte])), np.concatenate([ytr, yte]), ks)
        train_idx, test_idx = np.arange(len(ytr)), np.arange(len(ytr), len(ytr) + len(yte))
        on_train = lambda a, b: score(train_idx[a], train_idx[b])   # noqa: E731
        cv_means = grid_cv(on_train, kfold(len(ytr), cfg.cv_folds, rng, ytr))
        best = int(np.argmax(cv_means))
        nested_scores, _ = nested_cv(on_train, len(ytr), cfg.cv_folds, cfg.cv_inner_folds, rng, ytr)
        test_all = score(train_idx, test_idx)                 # every k, trained on all cv_n, on the test set
        plain_bias.append(cv_means[best] - test_all[best])
        nested_bias.append(nested_scores.mean() - test_all[best])
        if rep == 0:
            result.metric("cv_fashion/selected_k", ks[best])
            result.metric("cv_fashion/plain_cv_best", cv_means[best])
            result.metric("cv_fashion/nested_cv", nested_scores.mean())
            result.metric("cv_fashion/test_acc_of_selected", test_all[best])
            first = (cv_means, test_all, best)
    result.metric("cv_fashion/mean_plain_minus_test", np.mean(plain_bias))
    nb = result.metric("cv_fashion/mean_nested_minus_test", np.mean(nested_bias))
    result.metric("cv_fashion/sd_nested_minus_test", np.std(nested_bias, ddof=1))
    result.check(f"real labels: nested CV minus held-out test accuracy, mean over {cfg.cv_reps} training sets",
                 abs(nb), reference=0.0, tolerance=NESTED_BIAS_TOL, source=VARMA + ": nested CV is nearly unbiased", kind="at_most")
    if abs(np.std(nested_bias, ddof=1)) > NESTED_BIAS_TOL:
        result.note(f"a single nested-CV estimate on {cfg.cv_n} images misses the test accuracy by up to "
                    f"{np.max(np.abs(nested_bias)):.3f} (sd {np.std(nested_bias, ddof=1):.3f}): unbiased is not precise")
    cv_means, test_all, best = first

    fig, ax = plots.figure(1, 2, size=(11, 3.6))
    ax[0].hist(plain, bins=10, alpha=0.6, label=f"best plain CV (mean {p:.3f})")
    ax[0].hist(nested, bins=10, alpha=0.6, label=f"nested CV (mean {n_:.3f})")
    ax[0].axvline(0.5, color="k", ls=":")
    ax[0].set(xlabel="estimated accuracy", ylabel="datasets", title="coin-flip labels: true accuracy 0.5")
    ax[0].legend(fontsize=8)
    ax[1].plot(ks, cv_means, "o-", ms=3, label=f"{cfg.cv_folds}-fold CV mean")
    ax[1].plot(ks, test_all, "o-", ms=3, label="held-out test")
    ax[1].axvline(ks[best], ls=":", color="k", label=f"selected k = {ks[best]}")
    ax[1].set(xlabel="k (neighbours)", ylabel="accuracy", title=f"k-NN on {cfg.cv_n} Fashion-MNIST images")
    ax[1].legend(fontsize=8)
    result.artifact(plots.save(fig, out / "cross_validation.png"))
