"""Continual learning: prequential accuracy on a drifting stream, Page-Hinkley drift detection, and split
Fashion-MNIST in the task- and class-incremental scenarios: fine-tuning, EWC, LwF, replay, joint (topic 26).

What this lab shows
  1. A drifting stream with known drift points: SEA concepts (Street & Kim 2001; threshold θ = 8, 9, 7, 9.5 on
     x1 + x2, 10% label noise), several independent copies. A logistic regression trained once on the first
     samples keeps the first concept's boundary: its stream accuracy on each concept equals its accuracy
     integrated over the uniform inputs (computed without the stream), and follows the exact accuracy of the
     rule x1 + x2 <= 8 down after each drift. The same model updated online by SGD and scored prequentially
     (predict each sample, then train on it) tracks each concept back to near the Bayes accuracy of 0.9 and
     beats the static model after every drift.
  2. Page-Hinkley drift detection (written from scratch) on the error stream of a deployed model that is refit
     after each alarm: the streaming detector's statistic and alarms equal those computed in closed form with
     cumulative sums; at the largest jump in the error rate its mean delay matches the delay predicted from the
     jump's size (the deployed model's error before and after, integrated over the inputs) and the statistic's
     value at the drift, by the law-of-large-numbers path of the statistic. Smaller jumps are reported: there
     fluctuations, not the mean path, decide when it fires.
  3. Split Fashion-MNIST, five two-class tasks, one MLP: in the class-incremental scenario fine-tuning ends near
     20% (it only knows the last two of ten classes), EWC and LwF stay with it, and experience replay (a small
     reservoir buffer) is far above, near joint training; in the task-incremental scenario every method does
     well. This is the ordering van de Ven & Tolias (2019) report for split MNIST. Average accuracy,
     forgetting and backward transfer per method and scenario; the accuracy matrices are plotted.
  4. EWC's diagonal Fisher by per-example gradients (torch.func) equals a plain per-example autograd loop.

Differences from the references
  - van de Ven & Tolias use split MNIST with a 2×400 MLP, 2000 Adam iterations per task and 20 seeds, and
    generative replay (DGR) or iCaRL, not a stored-image buffer; here split Fashion-MNIST on a CPU with a smaller
    MLP, far fewer iterations and a few hundred images per class, and experience replay with a buffer of a few
    hundred images. The ordering and the ~20% class-incremental floor are what is compared, not the decimals.
  - The joint 'upper bound' trains for the same number of iterations as the others, so at quick scale it is below
    the paper's 97.9% (Fashion-MNIST is also harder than MNIST).
  - In task-incremental learning the paper's EWC figure differs between its versions (85.5% in the ICLR 2019
    submission, 98.6% in arXiv 1904.07734 v1); only 'all methods do well' is held, EWC's gain is reported.

Building blocks: modelbook/continual/{streams,drift,regularizers,replay,benchmark}.py
Cross-checks:    tests/continual/ (Page-Hinkley streaming = closed form, SEA errors = exact integrals, Fisher vmap =
                 loop, distillation = the KL formula, reservoir inclusion = capacity/n by chi-square)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from modelbook.continual import drift as D
from modelbook.continual import streams as S
from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng

SEA = "Street & Kim 2001, A streaming ensemble algorithm (SEA), KDD: concepts θ = 8, 9, 7, 9.5 on x1 + x2, 10% noise"
EXACT = "exact: error = noise + (1 − 2·noise)·|P(x1+x2 <= θ_rule) − P(x1+x2 <= θ)|, x uniform on [0, 10]²"
PH = "Page 1954 / Gama et al. 2013 Page-Hinkley statistic, computed in closed form with cumulative sums"
FLUID = ("Page-Hinkley's expected path after a jump of the error rate by Δ (Δ of the deployed model, integrated over the inputs), "
         "from its value PH₀ at the drift: Δ·n0·ln(1 + D/n0) − δ·D = λ − PH₀, solved for the delay D")
VDV = ("van de Ven & Tolias 2019, Three scenarios for continual learning (arXiv 1904.07734), split MNIST; the table as "
       "checked in their ICLR 2019 submission (Generative replay with feedback connections, Table 3): Class-IL None "
       "19.90, EWC 19.90, LwF 24.17, DGR 91.24, offline 97.93; Task-IL None 85.15, EWC 85.48, LwF 99.60, offline 99.64")
NAMES = {"finetune": "fine-tuning", "ewc": "EWC", "lwf": "LwF", "replay": "replay", "joint": "joint"}


@dataclass(frozen=True)
class Config:
    streams: int = 12
    """independent copies of the SEA stream"""
    per_concept: int = 5000
    noise: float = 0.1
    """share of SEA labels flipped"""
    fit_samples: int = 500
    """samples the static model is fit on (and each refit after an alarm)"""
    sgd_lr: float = 0.05
    """step size of the online logistic regression"""
    ph_delta: float = 0.005
    ph_threshold: float = 50.0
    per_class_train: int = 1000
    per_class_test: int = 300
    hidden: int = 160
    iters: int = 120
    """Adam iterations per task"""
    batch: int = 64
    buffer: int = 1000
    """replay buffer (images)"""
    ewc_lambda: float = 1000.0
    ewc_samples: int = 200
    bench_seeds: int = 2
    fisher_check_samples: int = 6
    seed: int = 0
    threads: int = 1

    RANGES: ClassVar[dict] = {"noise": (0.0, 0.45), "ph_threshold": (1e-6, None), "per_concept": (1000, None),
                              "per_class_train": (10, 6000), "per_class_test": (10, 1000), "buffer": (2, None),
                              "fit_samples": (20, None)}


PRESETS = {
    "quick": Config(streams=6, per_concept=3000, per_class_train=300, per_class_test=100, hidden=100, iters=40,
                    batch=64, buffer=200, ewc_samples=64, bench_seeds=1, fisher_check_samples=4),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    if cfg.fit_samples * 2 >= cfg.per_concept:
        from modelbook.core.errors import ModelbookError

        raise ModelbookError(f"fit_samples={cfg.fit_samples} must be under half of per_concept={cfg.per_concept}")
    result = LabResult("continual", cfg)
    rng = make_rng(cfg.seed)
    _stream(result, cfg, rng, out)
    _split_benchmark(result, cfg, rng, out)
    return result


# -- 1-2. drifting stream, prequential accuracy, drift detection ---------------------------------------------
def _stream(result: LabResult, cfg: Config, rng, out: Path) -> None:
    st = S.sea_stream(rng, cfg.streams, cfg.per_concept, noise=cfg.noise)
    with progress.status("SEA stream: online vs static"):
        online = S.online_logistic(st, cfg.sgd_lr)
        static, models = S.static_errors(st, cfg.fit_samples)
    K, n = len(st.thetas), cfg.per_concept
    rule_static, measured_static, grid_static, online_late, gain, se = [], [], [], [], [], []
    for k in range(K):
        seg = slice(k * n + (cfg.fit_samples if k == 0 else 0), (k + 1) * n)
        late = slice(k * n + n // 2, (k + 1) * n)                       # second half: after the online model adapted
        acc_static = 1 - static[:, seg].mean()
        grid = 1 - np.mean([S.linear_rule_error(m.coef_[0], m.intercept_[0], st.thetas[k], cfg.noise) for m in models])
        rule_static.append(1 - S.rule_error(st.thetas[0], st.thetas[k], cfg.noise))
        measured_static.append(acc_static)
        grid_static.append(grid)
        se.append(np.sqrt(grid * (1 - grid) / static[:, seg].size))
        online_late.append(1 - online[:, late].mean())
        result.metric(f"stream/concept{k + 1}/static_accuracy", acc_static)
        result.metric(f"stream/concept{k + 1}/static_accuracy_integral", grid)
        result.metric(f"stream/concept{k + 1}/rule8_accuracy_exact", rule_static[-1])
        result.metric(f"stream/concept{k + 1}/online_prequential_accuracy", 1 - online[:, seg].mean())
        result.metric(f"stream/concept{k + 1}/online_accuracy_second_half", online_late[-1])
        if k:
            gain.append((1 - online[:, seg].mean()) - acc_static)
    bayes = 1 - cfg.noise
    v = result.value
    result.metric("stream/online_prequential_accuracy", 1 - online[:, cfg.fit_samples:].mean())
    result.metric("stream/static_accuracy", 1 - static[:, cfg.fit_samples:].mean())
    z = max(abs(a - b) / s for a, b, s in zip(measured_static, grid_static, se))
    result.metric("stream/static_vs_integral_max_z", z)
    result.check("model trained once: stream accuracy per concept vs its accuracy integrated over the uniform inputs "
                 "(max |Δ| in standard errors)", z, reference=0.0, tolerance=4.0, kind="at_most",
                 source="midpoint-rule integral over [0, 10]³ of the fitted rule's agreement with each SEA concept; " + SEA)
    result.check("online SGD, second half of each concept: lowest accuracy vs the Bayes accuracy 1 − noise",
                 min(online_late), reference=bayes, tolerance=0.04, source=EXACT + " (θ_rule = θ)", kind="at_least")
    result.check("online prequential − static accuracy, smallest over the concepts after a drift",
                 min(gain), reference=0.02, tolerance=0.0, kind="at_least",
                 source=EXACT + ": the rule x1 + x2 <= 8 loses 0.8·D per concept (0.068, 0.060, 0.105 at 10% noise)")

    # Page-Hinkley on a deployed model that is refit after each alarm
    fit = lambda x, y: S.fit_logistic(x, y)                                       # noqa: E731
    predict = lambda m, x: m.predict(S.features(x)[:, :-1])                      # noqa: E731
    horizon = n - cfg.fit_samples
    delay_rows, fluid_rows, false, stat_err, same_alarms = [], [], 0, 0.0, True
    example = None
    for r in progress.track(range(cfg.streams), "Page-Hinkley: detect and refit"):
        run = D.detect_and_retrain(st.x[r], st.y[r], fit, predict, cfg.fit_samples,
                                   D.PageHinkley(cfg.ph_delta, cfg.ph_threshold))
        example = example or run
        # closed form on each segment the streaming detector saw (from a deployment to the next deployment)
        bounds = run.refits + [len(st.y[r])]
        for a, b in zip(bounds[:-1], bounds[1:]):
            seg = run.errors[a:b]
            alarms_seg = [x - a for x in run.alarms if a <= x < b]
            ph = D.page_hinkley_statistic(seg, cfg.ph_delta)
            first = D.page_hinkley_alarms(seg, cfg.ph_delta, cfg.ph_threshold)[:1]
            same_alarms &= first == alarms_seg[:1]
            upto = alarms_seg[0] if alarms_seg else len(seg)           # the streaming statistic resets at its alarm
            stat_err = max(stat_err, float(np.abs(ph[:upto] - run.statistic[a:a + upto]).max(initial=0.0)))
        delay_rows.append(D.delays(run.alarms, st.drift_points, horizon))
        false += D.false_alarms(run.alarms, st.drift_points, horizon)
        row = []
        for k, d in enumerate(st.drift_points):
            j = max(i for i, x in enumerate(run.refits) if x <= d)     # the model deployed when the drift came
            m = run.models[j]
            jump = (S.linear_rule_error(m.coef_[0], m.intercept_[0], st.thetas[k + 1], cfg.noise)
                    - S.linear_rule_error(m.coef_[0], m.intercept_[0], st.thetas[k], cfg.noise))
            # from the detector's actual state at the drift (PH is 0 right after a refit)
            row.append(D.fluid_delay(jump, d - run.refits[j], cfg.ph_delta, cfg.ph_threshold, start=run.statistic[d - 1]))
        fluid_rows.append(row)
    delays, fluid = np.array(delay_rows), np.array(fluid_rows)
    fluid[~np.isfinite(fluid)] = np.nan                                  # the expected path never crosses λ
    found = ~np.isnan(delays)
    detection_rate = result.metric("drift/detection_rate", found.mean())
    mean_delay = result.metric("drift/mean_delay", delays[found].mean())
    for k in range(len(st.drift_points)):
        result.metric(f"drift/drift{k + 1}/mean_delay", np.nanmean(delays[:, k]) if found[:, k].any() else np.nan)
        result.metric(f"drift/drift{k + 1}/predicted_delay", np.nanmean(fluid[:, k]) if np.isfinite(fluid[:, k]).any() else np.nan)
    big = len(st.drift_points) - 1                                      # 7 → 9.5: the largest jump in the error rate
    both = found[:, big] & np.isfinite(fluid[:, big])
    ratio = result.metric("drift/largest_jump_delay_over_predicted", delays[both, big].mean() / fluid[both, big].mean())
    result.metric("drift/false_alarms_per_stream", false / cfg.streams)
    result.metric("drift/statistic_max_abs_diff", stat_err)
    result.check("Page-Hinkley streaming statistic vs closed form (cumsum, running min): max |Δ|", stat_err,
                 reference=0.0, tolerance=1e-9, source=PH, kind="at_most")
    result.check("Page-Hinkley streaming alarms = closed-form alarms (1 = every segment agrees)", float(same_alarms),
                 reference=1.0, tolerance=0.0, source=PH)
    result.check("Page-Hinkley mean delay / predicted delay, at the drift with the largest error jump (θ 7 → 9.5)", ratio,
                 reference=1.0, tolerance=0.3, source=FLUID,
                 note="for the small jumps (θ 8 → 9, 9 → 7) fluctuations dominate the slow expected path and the detector "
                      "fires earlier than the prediction: reported, not held")
    result.check("share of drifts detected within the concept", detection_rate, reference=0.75, tolerance=0.0,
                 source=FLUID + " (predicted delays are shorter than a concept)", kind="at_least")
    result.note(f"SEA stream ({cfg.streams} copies, {cfg.per_concept} samples per concept): static model accuracy per "
                f"concept {np.round(measured_static, 3).tolist()} (integral {np.round(grid_static, 3).tolist()}; the rule x1 + x2 <= 8 "
                f"exactly: {np.round(rule_static, 3).tolist()}); online SGD "
                f"prequential {v('stream/online_prequential_accuracy'):.3f} vs static {v('stream/static_accuracy'):.3f}. "
                f"Page-Hinkley (δ = {cfg.ph_delta}, λ = {cfg.ph_threshold:g}) detected {detection_rate:.0%} of drifts, mean "
                f"delay {mean_delay:.0f} samples (at the largest jump {ratio:.2f} × the predicted delay), {false / cfg.streams:.2f} false alarms per stream.")

    fig, (ax1, ax2) = plots.figure(1, 2, size=(11, 3.8))
    w = 250
    steps = np.arange(w - 1, online.shape[1])
    ax1.plot(steps, S.windowed(online, w), label="online SGD (prequential)")
    ax1.plot(steps, S.windowed(static, w), label="trained once")
    for d in st.drift_points:
        ax1.axvline(d, c="k", ls=":", lw=0.8)
    ax1.axhline(bayes, c="grey", ls="--", lw=0.8, label="Bayes 1 − noise")
    ax1.set(xlabel="sample", ylabel=f"accuracy (window {w})", title="SEA concepts 8 → 9 → 7 → 9.5")
    ax1.legend(fontsize=7)
    ax2.plot(example.statistic, lw=0.8, label="PH statistic (stream 1)")
    ax2.axhline(cfg.ph_threshold, c="r", ls="--", lw=0.8, label="λ")
    for d in st.drift_points:
        ax2.axvline(d, c="k", ls=":", lw=0.8)
    for a in example.alarms:
        ax2.axvline(a, c="r", lw=0.6)
    ax2.set(xlabel="sample", ylabel="PH", title="Page-Hinkley on a refit-on-alarm model")
    ax2.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "stream_drift.png"))


# -- 3-4. split Fashion-MNIST ---------------------------------------------------------------------------------
def _split_benchmark(result: LabResult, cfg: Config, rng, out: Path) -> None:
    import torch

    from modelbook.continual import benchmark as B
    from modelbook.continual.regularizers import fisher_diagonal, fisher_diagonal_loop

    tc = B.TrainConfig(hidden=cfg.hidden, iters=cfg.iters, batch=cfg.batch, ewc_lambda=cfg.ewc_lambda,
                       ewc_samples=cfg.ewc_samples, buffer=cfg.buffer)
    data = B.split_fashion(rng, cfg.per_class_train, cfg.per_class_test)
    runs = [(s, m, i) for i in range(cfg.bench_seeds) for s in B.SCENARIOS for m in B.METHODS]
    mats: dict = {}
    for s, m, i in progress.track(runs, "split Fashion-MNIST"):
        mats.setdefault((s, m), []).append(B.run_method(m, s, data, tc, cfg.seed + i))  # + i: one training seed per repeat
    acc, fgt = {}, {}
    for (s, m), Rs in mats.items():
        acc[s, m] = result.metric(f"split/{s}/{m}/average_accuracy", np.mean([B.average_accuracy(R) for R in Rs]))
        fgt[s, m] = result.metric(f"split/{s}/{m}/forgetting", np.mean([B.forgetting(R) for R in Rs]))
        result.metric(f"split/{s}/{m}/backward_transfer", np.mean([B.backward_transfer(R) for R in Rs]))
        if len(Rs) > 1:
            result.metric(f"split/{s}/{m}/average_accuracy_min_over_seeds", min(B.average_accuracy(R) for R in Rs))
    # every comparison is taken on the worst seed in its direction, so it holds on each seed, not only on average
    per_seed = {k: [B.average_accuracy(R) for R in Rs] for k, Rs in mats.items()}
    c = "class"
    result.check("class-incremental fine-tuning: average accuracy ≈ 1/5 (knows only the last two classes)",
                 acc[c, "finetune"], reference=0.199, tolerance=0.03, source=VDV)
    for m in ("ewc", "lwf"):
        worst = max(a - b for a, b in zip(per_seed[c, m], per_seed[c, "finetune"]))
        result.check(f"class-incremental: {NAMES[m]} − fine-tuning (stays near it), largest over seeds", worst,
                     reference=0.0, tolerance=0.08, source=VDV + " (EWC +0.00, LwF +4.27 points)",
                     kind="at_most")
    regs = [max(per_seed[c, m][i] for m in ("finetune", "ewc", "lwf")) for i in range(cfg.bench_seeds)]
    gap = min(r - g for r, g in zip(per_seed[c, "replay"], regs))
    result.metric("split/class/replay_minus_best_regulariser", gap)
    result.check("class-incremental: replay − best of fine-tuning/EWC/LwF, smallest over seeds", gap, reference=0.3,
                 tolerance=0.0, source=VDV + " (replay-based DGR 91.24 vs LwF 24.17: +67 points; a small buffer here)",
                 kind="at_least")
    jgap = max(j - r for j, r in zip(per_seed[c, "joint"], per_seed[c, "replay"]))
    result.check("class-incremental: joint − replay, largest over seeds (replay is near the upper bound)", jgap,
                 reference=0.0, tolerance=0.15, source=VDV + " (offline 97.93 vs DGR 91.24: 6.7 points)", kind="at_most")
    t = "task"
    worst_task = min(min(per_seed[t, m]) for m in B.METHODS)
    result.check("task-incremental: every method's average accuracy (lowest over methods and seeds)", worst_task,
                 reference=0.85, tolerance=0.1, source=VDV + " (lowest: None 85.15)", kind="at_least")
    lift = min(a - b for a, b in zip(per_seed[t, "finetune"], per_seed[c, "finetune"]))
    result.check("fine-tuning: task-incremental − class-incremental accuracy, smallest over seeds", lift,
                 reference=0.5, tolerance=0.0, source=VDV + " (None: 85.15 vs 19.90)", kind="at_least")
    result.check("class-incremental forgetting: fine-tuning (old tasks fall to ~0)", fgt[c, "finetune"],
                 reference=0.9, tolerance=0.0, source=VDV + " (None ends at 19.90 = the last task only)", kind="at_least")
    result.note("Split Fashion-MNIST average accuracy (task-IL / class-IL): " + "; ".join(
        f"{NAMES[m]} {acc[t, m]:.3f} / {acc[c, m]:.3f}" for m in B.METHODS) + ". Forgetting (class-IL): " + ", ".join(
        f"{NAMES[m]} {fgt[c, m]:.3f}" for m in B.METHODS) + f". EWC − fine-tuning in task-IL: "
        f"{acc[t, 'ewc'] - acc[t, 'finetune']:+.3f} (the paper's two versions report +0.3 and +11.5 points).")

    # EWC's Fisher: vmap'd per-example gradients vs the plain loop
    torch.manual_seed(cfg.seed)
    model = B.mlp(16)
    x = data.x_test[: cfg.fisher_check_samples]
    a, b = fisher_diagonal(model, x), fisher_diagonal_loop(model, x)
    scale = max(float(v.abs().max()) for v in b.values())
    diff = max(float((a[k] - b[k]).abs().max()) for k in a) / scale
    result.metric("ewc/fisher_vmap_vs_loop_rel_diff", diff)
    result.check("EWC diagonal Fisher: torch.func per-example gradients vs one autograd pass per example and class "
                 "(max |Δ| / max F)", diff, reference=0.0, tolerance=1e-5, kind="at_most",
                 source="the definition E_x Σ_c p(c|x)(∂ log p(c|x)/∂θ)², computed by plain autograd")

    fig, axes = plots.figure(2, len(B.METHODS), size=(2.6 * len(B.METHODS), 5.2))
    for row, s in enumerate(B.SCENARIOS):
        for col, m in enumerate(B.METHODS):
            ax = axes[row, col]
            ax.imshow(mats[s, m][0], vmin=0, vmax=1, cmap="viridis")
            ax.set(title=f"{s}-IL {NAMES[m]}: {acc[s, m]:.2f}", xticks=range(5), yticks=range(5))
            ax.title.set_fontsize(8)
            if col == 0:
                ax.set_ylabel("after task")
            if row == 1:
                ax.set_xlabel("test task")
    result.artifact(plots.save(fig, out / "split_accuracy_matrices.png"))
    fig, ax = plots.figure(1, 1, size=(6.4, 3.8))
    xs = np.arange(len(B.METHODS))
    for j, s in enumerate(B.SCENARIOS):
        ax.bar(xs + (j - 0.5) * 0.38, [acc[s, m] for m in B.METHODS], width=0.38, label=f"{s}-incremental")
    ax.axhline(0.2, c="k", ls=":", lw=0.8, label="1/5 (last task only)")
    ax.set(xticks=xs, xticklabels=[NAMES[m] for m in B.METHODS], ylabel="average accuracy", ylim=(0, 1),
           title="Split Fashion-MNIST (van de Ven & Tolias scenarios)")
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "split_average_accuracy.png"))
