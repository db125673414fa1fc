"""Knowledge distillation: a CNN teacher's soft targets on unlabelled images train a small MLP student that has few labels
better than those labels alone (topics 2, 23).

What this lab shows
  1. Our distillation loss equals its definition written with torch.nn.functional.kl_div, and its gradient
     is (p − q)/T per logit; the T² factor keeps the soft-target gradients on the same scale as T changes.
  2. A CNN teacher trained on its own labelled Fashion-MNIST images (quick: 3,000; full: 30,000), and a small
     MLP student (quick: 784-32-10, full: 784-128-10) with few labels: a transfer set the teacher never saw
     (quick: 3,000 images; full: 10,000) of which only the first 5% keep their labels (quick: 150; full:
     500). The student alone trains on the labelled images; the distilled student, from the same initial
     weights, on the same labels plus the teacher's soft targets on the whole transfer set (T = 2, α = 0.5;
     full: also the soft targets alone, no label at all). Both pass over the same number of images. Paired
     over student seeds (the same seed, so the same initial weights, for both): the mean gain in test
     accuracy and its one-sided 95% Student-t lower bound, which must be above zero.
  3. (full) A temperature sweep T ∈ {1, 2, 4, 8, 20} at α = 0.5.
  4. Size, FLOPs and latency of teacher and student: what distillation buys.

Differences from the paper (Hinton, Vinyals & Dean 2015, §2-3)
  - MNIST with a 2×1200 dropout-and-jitter teacher (67 errors) and a 2×800 student (146 errors alone, 74
    distilled at T = 20) after long training, teacher and student on the same 60,000 labelled images; Hinton's
    teacher was regularised with dropout and jitter, so its outputs on its own training images stayed soft. Our
    small CNN memorises its few thousand images (mean max-probability on them: see teacher/mean_max_prob_*), so
    its "soft" targets there are nearly one-hot; we distil on a transfer set it never trained on (Hinton et al.
    §2: the transfer set "could consist entirely of unlabeled data").
  - Why few labels: at our short budget, a student that has every label of its transfer set gains nothing
    measurable from the soft targets. In the former setting of this lab (every transfer image labelled), the
    distilled student scored 0.802 vs 0.804 alone (mean of 3 seeds) on an untuned seed, and the mean ordering
    failed on 5 of 14 seeds; the full preset, 0.843 vs 0.849 (5 seeds). Soft targets on the student's own 300
    labelled images only, without the unlabelled ones, gave nothing either (0.759 vs 0.761, 4 seeds). What a
    teacher gives here is what the student cannot get from its own labels: its knowledge of the 95% of the
    transfer set the student has no label for. The gain is several points (quick, seeds 0, 1234567 and 1-8:
    +0.056 to +0.137, 95% lower bounds +0.043 or more, the distilled student ahead on all 50 paired student
    seeds), so the claim holds with a t-bound over a few seeds. Full preset, seed 0: 0.846 distilled, 0.847 on
    the soft targets alone, 0.769 on the 500 labels alone; the temperature sweep falls from 0.852 at T = 1 to
    0.839 at T = 20.
  - The student alone makes n_train / n_labelled times more epochs over its labelled images than the distilled
    one over the transfer set (the same number of images seen); with 150 labels it has reached its plateau by
    then (quick: 120 epochs; 60 epochs: 0.739, 120: 0.746, 240: 0.749, mean of 4 student seeds).

Building blocks: modelbook/compression/distill.py, workbench.py
Cross-checks:    tests/compression/test_distill.py (loss vs F.kl_div; gradient vs the closed form; unlabelled images)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from modelbook.compression import workbench as wb
from modelbook.compression.distill import UNLABELLED, distillation_loss_fn, kd_loss, soft_target_loss, teacher_logits
from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.nn.mlp import mlp

HINTON = ("Hinton, Vinyals & Dean 2015, §2-3: soft targets on a transfer set (may be unlabelled); MNIST 2x800 "
          "student 146 errors alone, 74 distilled (T = 20)")
STUDENT_SEED_OFFSET = 1000  # students' inits and batches: streams apart from the teacher's and the split's (cfg.seed)
# loss identities: a fixed random batch (N logits over K classes, the teacher's logits spread SPREAD times wider),
# checked at temperature T_CHECK; the T² scaling is shown between the two temperatures of T_PAIR
ID_SEED, ID_N, ID_K, ID_SPREAD, T_CHECK = 0, 64, 10, 3, 4.0
T_PAIR = (10.0, 20.0)
LATENCY_BATCH = 256  # images per timed forward pass in the size comparison


@dataclass(frozen=True)
class Config:
    n_train: int = 10_000
    """images of the student's transfer set (disjoint from the teacher's)"""
    n_labelled: int = 500
    """transfer images that keep their labels; only the teacher's soft targets tell the student about the rest"""
    teacher_train: int = 30_000
    """labelled images the teacher trains on"""
    n_test: int = 10_000
    teacher_epochs: int = 8
    student_epochs: int = 12
    """the distilled student's epochs over the transfer set (the student alone: as many images, over its labels)"""
    teacher: tuple[int, int, int] = (32, 64, 256)
    """teacher CNN widths: conv1, conv2, hidden"""
    student: tuple[int, ...] = (128,)
    """student MLP hidden widths"""
    temperature: float = 2.0
    alpha: float = 0.5
    """weight of the soft-target term (1 − α on the labels)"""
    soft_only: bool = True
    """also train students on the soft targets alone (α = 1, no label)"""
    temperatures: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 20.0)
    """temperature sweep (empty to skip)"""
    n_seeds: int = 5
    """student seeds; each trains the student alone and the distilled one from the same initial weights"""
    confidence: float = 0.95
    """one-sided level of the Student-t lower bound on the mean paired gain"""
    lr: float = 3e-3
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_train=3000, n_labelled=150, teacher_train=3000, n_test=2000, teacher_epochs=4, student_epochs=6,
                    teacher=(16, 32, 128), student=(32,), temperatures=(), n_seeds=5, soft_only=False),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("distillation", cfg)
    _loss_identities(result)
    both = wb.fashion_split(cfg.teacher_train + cfg.n_train, cfg.n_test, cfg.seed)
    order = torch.randperm(cfg.teacher_train + cfg.n_train, generator=torch.Generator().manual_seed(cfg.seed))
    a, b = order[:cfg.teacher_train], order[cfg.teacher_train:]
    teacher_set = wb.Split(both.x_train[a], both.y_train[a], both.x_test, both.y_test)
    split = wb.Split(both.x_train[b], both.y_train[b], both.x_test, both.y_test)  # the transfer set, every label
    torch.manual_seed(cfg.seed)
    teacher = wb.train(wb.small_cnn(*cfg.teacher), teacher_set, cfg.teacher_epochs, cfg.seed, lr=cfg.lr, description="teacher CNN")
    soft = teacher_logits(teacher, split.x_train)  # (N, 10), computed once: the teacher is frozen
    acc_teacher = result.metric("teacher/accuracy", wb.accuracy(teacher, split.x_test, split.y_test))
    result.metric("teacher/accuracy_on_transfer_images", float((soft.argmax(-1) == split.y_train).float().mean()))
    conf_own = float(teacher_logits(teacher, teacher_set.x_train).softmax(-1).amax(-1).mean())
    conf_transfer = float(soft.softmax(-1).amax(-1).mean())
    result.metric("teacher/mean_max_prob_on_its_training_images", conf_own)
    result.metric("teacher/mean_max_prob_on_transfer_images", conf_transfer)

    transfer = few_labels(split, cfg.n_labelled)
    runs = compare_students(cfg, transfer, soft)
    alone, kd = np.array(runs["alone"]), np.array(runs["kd"])
    for key, v in runs.items():
        result.metric(f"student/{key}_accuracy_mean", float(np.mean(v)))
        result.metric(f"student/{key}_accuracy_std", float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
    result.metric("student/n_labelled", cfg.n_labelled)
    gap = acc_teacher - alone.mean()
    result.metric("student/teacher_gap_recovered", float((kd.mean() - alone.mean()) / gap) if gap > 0 else float("nan"))
    gain_check(result, kd, alone, cfg.confidence)
    result.check("teacher vs student alone (the gap distillation tries to close)", acc_teacher, reference=float(alone.mean()), tolerance=0.0,
                 source=HINTON, kind="at_least")

    sweep = {}
    for T in progress.track(cfg.temperatures, "temperature sweep"):
        # the first student stream: every temperature starts from the same student as seed 0 of the comparison
        student = _train_student(cfg, transfer, soft, distillation_loss_fn(T, cfg.alpha), cfg.seed + STUDENT_SEED_OFFSET, f"T={T:g}")
        sweep[T] = result.metric(f"sweep/accuracy_T{T:g}", wb.accuracy(student, split.x_test, split.y_test))
    _sizes(result, teacher, split, cfg)
    fig, axes = plots.figure(1, 2 if sweep else 1, size=(11 if sweep else 6.5, 3.8))
    ax = axes[0] if sweep else axes
    labels = {"alone": f"{cfg.n_labelled} labels only",
              "kd": f"+ soft targets on {cfg.n_train}\n(T={cfg.temperature:g}, α={cfg.alpha})",
              "soft_only": f"soft targets only\n(T={cfg.temperature:g})"}
    for j, (key, accs) in enumerate(runs.items()):
        ax.scatter([j] * len(accs), accs, alpha=0.6)
        ax.plot([j - 0.2, j + 0.2], [np.mean(accs)] * 2, color="k")
    ax.axhline(acc_teacher, color="grey", ls=":", label=f"teacher CNN {acc_teacher:.3f}")
    ax.set_xticks(range(len(runs)), [labels[k] for k in runs], fontsize=8)
    ax.set(ylabel="test accuracy", title=f"Student MLP, {cfg.n_seeds} seeds (bar = mean)")
    ax.legend(fontsize=8)
    if sweep:
        axes[1].plot(list(sweep), list(sweep.values()), "o-")
        axes[1].axhline(float(alone.mean()), color="C3", ls="--", label="labels only (mean)")
        axes[1].set(xscale="log", xlabel="temperature T", ylabel="test accuracy", title=f"Distillation, α = {cfg.alpha}")
        axes[1].legend(fontsize=8)
    result.artifact(plots.save(fig, out / "distillation.png"))
    return result


def few_labels(split: wb.Split, n_labelled: int) -> wb.Split:
    """The transfer set with only its first n_labelled labels kept (the others UNLABELLED)."""
    y = split.y_train.clone()
    y[n_labelled:] = UNLABELLED
    return wb.Split(split.x_train, y, split.x_test, split.y_test)


def compare_students(cfg: Config, transfer: wb.Split, soft: torch.Tensor) -> dict[str, list[float]]:
    """Test accuracies over cfg.n_seeds student seeds: "alone" (its labelled images only), "kd" (the same labels
    plus the soft targets on the whole transfer set), and with cfg.soft_only "soft_only" (soft targets, no label)."""
    keep = transfer.y_train != UNLABELLED
    labelled = wb.Split(transfer.x_train[keep], transfer.y_train[keep], transfer.x_test, transfer.y_test)
    alone_epochs = cfg.student_epochs * len(transfer.y_train) // len(labelled.y_train)  # as many images as the others see
    runs = {"alone": [], "kd": []} | ({"soft_only": []} if cfg.soft_only else {})
    for i in progress.track(range(cfg.n_seeds), "student seeds"):
        seed = cfg.seed + STUDENT_SEED_OFFSET + i  # seed i of the student streams: the same initial student for every run
        kd_loss_fn = distillation_loss_fn(cfg.temperature, cfg.alpha)
        students = {"alone": _train_student(cfg, labelled, None, None, seed, "labels only", alone_epochs),
                    "kd": _train_student(cfg, transfer, soft, kd_loss_fn, seed, "distilled")}
        if cfg.soft_only:
            soft_loss_fn = distillation_loss_fn(cfg.temperature, 1.0)
            students["soft_only"] = _train_student(cfg, transfer, soft, soft_loss_fn, seed, "soft only")
        for key, student in students.items():
            runs[key].append(wb.accuracy(student, transfer.x_test, transfer.y_test))
    return runs


def paired_gain(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float]:
    """Mean of the paired differences a − b and its one-sided Student-t lower bound at `confidence`."""
    from modelbook.evaluation.uncertainty import paired_lower_bound

    d = np.asarray(a, float) - np.asarray(b, float)
    return float(d.mean()), paired_lower_bound(d, confidence)


def gain_check(result: LabResult, kd: np.ndarray, alone: np.ndarray, confidence: float):
    """The claim: the distilled student beats the same student on its labels alone, paired over seeds."""
    mean, lower = paired_gain(kd, alone, confidence)
    result.metric("student/kd_minus_alone_mean", mean)
    result.metric("student/kd_minus_alone_lower_bound", lower)
    result.metric("student/kd_wins_of_seeds", int((kd > alone).sum()))
    result.metric("student/n_seeds", len(kd))
    return result.check(f"distilled student minus the same student on its labels alone, paired over {len(kd)} seeds: "
                        f"{confidence:.0%} t lower bound on the mean gain", lower, reference=0.0, tolerance=0.0,
                        source=HINTON, kind="at_least",
                        note=f"mean gain {mean:+.4f}; distilled wins on {int((kd > alone).sum())} of {len(kd)} seeds")


def _train_student(cfg: Config, split: wb.Split, soft: torch.Tensor | None, loss_fn, seed: int, name: str,
                   epochs: int | None = None):
    torch.manual_seed(seed)
    student = mlp(784, cfg.student, 10)
    epochs = epochs or cfg.student_epochs
    if loss_fn is None:
        return wb.train(student, split, epochs, seed, lr=cfg.lr, description=name)
    return wb.train(student, split, epochs, seed, lr=cfg.lr, loss_fn=loss_fn, extra=(soft,), description=name)


def _loss_identities(result: LabResult) -> None:
    g = torch.Generator().manual_seed(ID_SEED)  # a fixed batch, not cfg.seed: the identities hold for any logits
    z = torch.randn(ID_N, ID_K, generator=g, dtype=torch.float64)
    v = torch.randn(ID_N, ID_K, generator=g, dtype=torch.float64) * ID_SPREAD
    y = torch.randint(0, ID_K, (ID_N,), generator=g)
    T = T_CHECK
    ref = F.kl_div(F.log_softmax(z / T, -1), F.softmax(v / T, -1), reduction="batchmean")
    diff = abs(float(soft_target_loss(z, v, T) - ref))
    zz = z.clone().requires_grad_()
    soft_target_loss(zz, v, T).backward()
    closed = (F.softmax(z / T, -1) - F.softmax(v / T, -1)) / T / len(z)  # ∂KL/∂z = (p − q)/T, averaged over the batch
    gdiff = float((zz.grad - closed).abs().max())
    result.metric("loss/kl_vs_torch_kl_div_abs_diff", diff)
    result.metric("loss/grad_vs_closed_form_max_abs_diff", gdiff)
    result.check("soft-target loss vs torch.nn.functional.kl_div (batchmean), float64", diff, reference=0.0, tolerance=1e-12,
                 source="torch 2.13 F.kl_div on the same logits", kind="at_most")
    result.check("its gradient vs the closed form (p − q)/T", gdiff, reference=0.0, tolerance=1e-12,
                 source="Hinton et al. 2015, eq. 2", kind="at_most")
    norms = {}
    for T in T_PAIR:
        for scaled in (False, True):
            zz = (z - z.mean(-1, keepdim=True)).clone().requires_grad_()
            loss = kd_loss(zz, v - v.mean(-1, keepdim=True), y, T, alpha=1.0) / (1 if scaled else T * T)
            loss.backward()
            norms[(T, scaled)] = float(zz.grad.norm())
    lo, hi = T_PAIR
    unscaled = result.metric("loss/grad_norm_ratio_T20_over_T10_without_T2", norms[(hi, False)] / norms[(lo, False)])
    scaled = result.metric("loss/grad_norm_ratio_T20_over_T10_with_T2", norms[(hi, True)] / norms[(lo, True)])
    result.check("without T², soft gradients shrink like 1/T² (T 10 -> 20: ratio ≈ 1/4)", unscaled, reference=0.25, tolerance=0.03,
                 source="Hinton et al. 2015, §2: the magnitudes of the soft-target gradients scale as 1/T²")
    result.check("with T², their scale stays put (ratio ≈ 1)", scaled, reference=1.0, tolerance=0.1, source="Hinton et al. 2015, §2")


def _sizes(result: LabResult, teacher, split: wb.Split, cfg: Config) -> None:
    student = mlp(784, cfg.student, 10)
    batch = split.x_test[:LATENCY_BATCH]
    for name, model in (("teacher", teacher), ("student", student)):
        result.metric(f"size/{name}_params", wb.n_params(model))
        result.metric(f"size/{name}_flops_per_image", wb.flops(model, batch[:1]))
        result.metric(f"size/{name}_latency_ms_batch256", wb.latency_ms(model, batch), "ms", volatile=True)
    result.metric("size/params_ratio", wb.n_params(teacher) / wb.n_params(student), "x")
