"""Metrics: classification metrics from scratch, equal to scikit-learn (topic 4).

What this lab shows
  1. Every metric in modelbook.evaluation (accuracy, precision / recall / F1 with binary, macro, micro and
     weighted averages, confusion matrix, ROC AUC, one-vs-rest AUC, average precision, balanced accuracy)
     gives the same number as scikit-learn on real predictions: breast cancer (binary, logistic
     regression) and Fashion-MNIST (10 classes, PCA + logistic regression).
  2. scikit-learn's published digits example reproduced exactly: SVC(gamma=0.001) on a 50/50 unshuffled
     split scores accuracy 0.969, and row 0 of its confusion matrix is [87 0 0 0 1 0 0 0 0 0].
  3. The hard-label AUC mistake (the source computes roc_auc_score(y_true, y_pred)): on Fashion-MNIST
     "shirt vs rest", AUC from hard labels equals balanced accuracy and sits far below the AUC of scores.
  4. Calibration: reliability diagrams and ECE for logistic regression, Gaussian naive Bayes, and naive
     Bayes recalibrated by isotonic regression.
  5. Uncertainty: a bootstrap 95% interval for AUC, whose standard error matches DeLong's closed form
     (Hanley–McNeil's approximation is shown beside it, and is off here), and whose coverage is measured: on
     repeated samples from a binormal population with a known AUC, the interval holds the truth ~95% of the time.

Differences from the references
  - The digits check is the exact published setting; everything else is self-referenced against
    scikit-learn on the same inputs, which is what "equal to the library" means.

Building blocks: modelbook/evaluation/{classification,calibration,uncertainty}.py
Cross-checks:    tests/evaluation/test_classification.py (hypothesis, random inputs vs sklearn),
                 tests/evaluation/test_calibration.py
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelbook.core import plots
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.data import FASHION_CLASSES, breast_cancer, digits, fashion_mnist, train_val_split
from modelbook.evaluation import (
    accuracy,
    auc_se_delong,
    auc_se_hanley_mcneil,
    average_precision,
    balanced_accuracy,
    bootstrap_auc,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_f1,
    reliability_bins,
    roc_auc,
    roc_auc_ovr,
    roc_auc_rank,
    roc_curve,
)
from modelbook.evaluation.calibration import top_label_ece, top_label_events
from modelbook.evaluation.uncertainty import interval_coverage

SKLEARN = "scikit-learn 1.9 sklearn.metrics on the same predictions"
SHIRT = FASHION_CLASSES.index("Shirt")
BINARY_TEST_FRACTION = 0.5  # breast cancer: half held out, so the binary metrics rest on ~285 predictions
THRESHOLD = 0.5  # hard labels from probabilities: the default decision threshold a library applies
BINARY_MAX_ITER = 1000  # lbfgs iterations: enough for the scaled breast-cancer features to converge
DIGITS_GAMMA = 0.001  # the published digits example's SVC(gamma=0.001)
CI_LEVEL = 0.95  # the bootstrap interval's nominal coverage
COVERAGE_Z = 3.0  # coverage tolerance in binomial standard deviations of the repetitions: a correct interval fails ~1 run in 370


@dataclass(frozen=True)
class Config:
    n_train: int = 60_000
    """Fashion-MNIST training images used (of 60,000)"""
    n_test: int = 10_000
    """Fashion-MNIST test images used (of 10,000)"""
    n_components: int = 50
    """PCA components fed to the classifiers"""
    n_bins: int = 15
    """confidence bins for ECE and the reliability diagram"""
    n_boot: int = 2000
    """bootstrap resamples for the AUC interval (fewer than ~1000 make the percentile interval narrow: coverage ~0.94 at 300)"""
    coverage_reps: int = 1000
    """binormal samples on which the coverage of the bootstrap interval is counted"""
    coverage_n: int = 50
    """positives, and as many negatives, in each binormal sample"""
    coverage_auc: float = 0.7
    """population AUC of the binormal samples: at 0.7 the percentile interval is close to nominal (0.952 over 3,000
    samples of 50 + 50 with 1,000 resamples); nearer 1 it undercovers (0.94 at AUC 0.85)"""
    lr_C: float = 0.5
    """inverse L2 strength of the Fashion-MNIST logistic regression"""
    lr_max_iter: int = 300
    """lbfgs iterations of the Fashion-MNIST logistic regression"""
    isotonic_folds: int = 3
    """cross-validation folds of the isotonic recalibration of naive Bayes"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(n_train=6000, n_test=3000, n_boot=1000, coverage_reps=300),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("metrics", cfg)
    rng = make_rng(cfg.seed)
    _binary_equals_sklearn(result, rng)
    _digits_published_example(result)
    y, proba, models = _fashion_models(cfg, rng)
    _multiclass_equals_sklearn(result, y, proba["logistic regression"])
    _hard_label_auc(result, y, proba["logistic regression"], out)
    _calibration(result, cfg, y, proba, out)
    _bootstrap(result, cfg, y, proba["logistic regression"], rng, out)
    return result


# -- 1. binary metrics vs scikit-learn ---------------------------------------------------------------
def _binary_equals_sklearn(result: LabResult, rng) -> None:
    """Logistic regression on breast cancer (malignant = 1), half held out; ours vs sklearn, every metric."""
    from sklearn import metrics as skm
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y, _ = breast_cancer()
    train, test = train_val_split(len(y), BINARY_TEST_FRACTION, rng, stratify=y)
    scaler = StandardScaler().fit(X[train])
    model = LogisticRegression(max_iter=BINARY_MAX_ITER).fit(scaler.transform(X[train]), y[train])
    score = model.predict_proba(scaler.transform(X[test]))[:, 1]
    pred = (score >= THRESHOLD).astype(int)
    yt = y[test]
    ours = {
        "accuracy": accuracy(yt, pred),
        "precision": precision_recall_f1(yt, pred)[0],
        "recall": precision_recall_f1(yt, pred)[1],
        "f1": precision_recall_f1(yt, pred)[2],
        "balanced_accuracy": balanced_accuracy(yt, pred),
        "roc_auc": roc_auc(yt, score),
        "roc_auc_rank": roc_auc_rank(yt, score),
        "average_precision": average_precision(yt, score),
    }
    ref = {
        "accuracy": skm.accuracy_score(yt, pred),
        "precision": skm.precision_score(yt, pred),
        "recall": skm.recall_score(yt, pred),
        "f1": skm.f1_score(yt, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(yt, pred),
        "roc_auc": skm.roc_auc_score(yt, score),
        "roc_auc_rank": skm.roc_auc_score(yt, score),
        "average_precision": skm.average_precision_score(yt, score),
    }
    for name, value in ours.items():
        result.metric(f"binary/{name}", value)
    fpr, tpr, _ = roc_curve(yt, score)
    sk_fpr, sk_tpr, _ = skm.roc_curve(yt, score, drop_intermediate=False)
    curve_diff = max(np.abs(fpr - sk_fpr).max(), np.abs(tpr - sk_tpr).max())
    worst = max(abs(ours[k] - ref[k]) for k in ours)
    result.check("binary metrics (8) vs sklearn, max |diff|", worst, reference=0.0, tolerance=1e-12, source=SKLEARN, kind="at_most")
    result.check("ROC curve points vs sklearn.roc_curve, max |diff|", curve_diff, reference=0.0, tolerance=1e-12, source=SKLEARN, kind="at_most")


# -- 2. the published digits example -----------------------------------------------------------------
def _digits_published_example(result: LabResult) -> None:
    from sklearn.svm import SVC

    X, y, _ = digits()
    half = len(y) // 2  # train_test_split(test_size=0.5, shuffle=False): 898 train, 899 test (the test half rounds up)
    pred = SVC(gamma=DIGITS_GAMMA).fit(X[:half], y[:half]).predict(X[half:])
    C = confusion_matrix(y[half:], pred)
    acc = result.metric("digits/svc_accuracy", accuracy(y[half:], pred))
    source = "scikit-learn example 'Recognizing hand-written digits' (plot_digits_classification.py), printed output"
    result.check("digits SVC(gamma=0.001) accuracy", acc, reference=0.97, tolerance=0.005, source=source)
    published_row0 = np.array([87, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    result.check("digits confusion matrix row 0, L1 distance to the published row", np.abs(C[0] - published_row0).sum(),
                 reference=0.0, tolerance=0.0, source=source, kind="at_most")


# -- shared: Fashion-MNIST classifiers ---------------------------------------------------------------
def _fashion_models(cfg: Config, rng):
    """PCA features; logistic regression, Gaussian naive Bayes, and naive Bayes + isotonic calibration."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.preprocessing import StandardScaler

    data = fashion_mnist()
    train = np.sort(rng.choice(len(data.y_train), cfg.n_train, replace=False))
    test = np.sort(rng.choice(len(data.y_test), cfg.n_test, replace=False))
    Xtr = data.x_train[train].reshape(len(train), -1) / 255.0
    Xte = data.x_test[test].reshape(len(test), -1) / 255.0
    pca = PCA(cfg.n_components, svd_solver="randomized", random_state=cfg.seed).fit(Xtr)
    scaler = StandardScaler().fit(pca.transform(Xtr))
    Ztr, Zte = scaler.transform(pca.transform(Xtr)), scaler.transform(pca.transform(Xte))
    ytr = data.y_train[train]
    models = {
        "logistic regression": LogisticRegression(max_iter=cfg.lr_max_iter, C=cfg.lr_C),
        "naive Bayes": GaussianNB(),
        "naive Bayes + isotonic": CalibratedClassifierCV(GaussianNB(), method="isotonic", cv=cfg.isotonic_folds),
    }
    proba = {name: m.fit(Ztr, ytr).predict_proba(Zte) for name, m in models.items()}
    return data.y_test[test], proba, models


# -- 3. multi-class metrics vs scikit-learn ----------------------------------------------------------
def _multiclass_equals_sklearn(result: LabResult, y, proba) -> None:
    from sklearn import metrics as skm

    pred = proba.argmax(axis=1)
    diffs = [np.abs(confusion_matrix(y, pred) - skm.confusion_matrix(y, pred)).max()]
    for average in ("macro", "micro", "weighted"):
        ours = precision_recall_f1(y, pred, average=average)
        ref = skm.precision_recall_fscore_support(y, pred, average=average, zero_division=0)[:3]
        diffs.append(np.abs(np.array(ours) - np.array(ref)).max())
        result.metric(f"fashion/f1_{average}", ours[2])
    ovr = roc_auc_ovr(y, proba)
    diffs.append(abs(ovr - skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")))
    result.metric("fashion/accuracy", accuracy(y, pred))
    result.metric("fashion/roc_auc_ovr_macro", ovr)
    result.check("10-class confusion matrix, P/R/F1 (3 averages) and OvR AUC vs sklearn, max |diff|", max(diffs), reference=0.0,
                 tolerance=1e-12, source=SKLEARN, kind="at_most")
    micro_f1 = precision_recall_f1(y, pred, average="micro")[2]
    result.check("micro-F1 equals accuracy for single-label multi-class", abs(micro_f1 - accuracy(y, pred)), reference=0.0, tolerance=1e-12,
                 source="identity: pooled FP = pooled FN = misclassified count (Manning et al., IR book §13.6)", kind="at_most")


# -- 4. the hard-label AUC mistake -------------------------------------------------------------------
def _hard_label_auc(result: LabResult, y, proba, out: Path) -> None:
    yb = (y == SHIRT).astype(int)
    score = proba[:, SHIRT]
    hard = (proba.argmax(axis=1) == SHIRT).astype(int)
    auc_score = result.metric("shirt_vs_rest/auc_from_scores", roc_auc(yb, score))
    auc_hard = result.metric("shirt_vs_rest/auc_from_hard_labels", roc_auc(yb, hard))
    bal = result.metric("shirt_vs_rest/balanced_accuracy", balanced_accuracy(yb, hard))
    result.metric("shirt_vs_rest/auc_lost_by_hard_labels", auc_score - auc_hard)
    # the source's own toy example: roc_auc_score([0,1,1,0,1], [0,1,1,1,0])
    toy = result.metric("source_toy/auc_from_hard_labels", roc_auc([0, 1, 1, 0, 1], [0, 1, 1, 1, 0]))
    result.check("AUC from hard labels equals balanced accuracy", abs(auc_hard - bal), reference=0.0, tolerance=1e-12,
                 source="identity: one interior ROC point (FPR, TPR) gives area (1 + TPR − FPR)/2", kind="at_most")
    result.check("AUC lost by feeding hard labels (shirt vs rest)", auc_score - auc_hard, reference=0.05, tolerance=0.0,
                 source="Fawcett 2006, An introduction to ROC analysis §4: a discrete classifier is a single ROC point",
                 kind="at_least", note="the source's code makes exactly this mistake")
    result.check("source's toy example: hard-label 'AUC' = (1 + 2/3 − 1/2)/2", toy, reference=7 / 12, tolerance=1e-12,
                 source="hand computation from the source's y_true, y_pred")
    fig, ax = plots.figure()
    fpr, tpr, _ = roc_curve(yb, score)
    ax.plot(fpr, tpr, label=f"scores (AUC {auc_score:.3f})")
    hfpr, htpr, _ = roc_curve(yb, hard)
    ax.plot(hfpr, htpr, "o-", label=f"hard labels (AUC {auc_hard:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="Fashion-MNIST shirt vs rest: ROC")
    ax.legend(loc="lower right")
    result.artifact(plots.save(fig, out / "roc_scores_vs_hard_labels.png"))
    precision, recall, _ = precision_recall_curve(yb, score)
    fig, ax = plots.figure()
    ax.step(recall, precision, where="post", label=f"AP {average_precision(yb, score):.3f}")
    ax.axhline(yb.mean(), ls=":", color="grey", label=f"prevalence {yb.mean():.2f}")
    ax.set(xlabel="recall", ylabel="precision", title="Fashion-MNIST shirt vs rest: precision-recall")
    ax.legend()
    result.artifact(plots.save(fig, out / "precision_recall.png"))


# -- 5. calibration ----------------------------------------------------------------------------------
def _calibration(result: LabResult, cfg: Config, y, proba, out: Path) -> None:
    from sklearn.calibration import calibration_curve

    fig, ax = plots.figure()
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    ece = {}
    for name, p in proba.items():
        correct, conf = top_label_events(y, p)
        ece[name] = result.metric(f"calibration/top_label_ece/{name}", top_label_ece(y, p, cfg.n_bins))
        result.metric(f"calibration/accuracy/{name}", accuracy(y, p.argmax(axis=1)))
        acc_b, conf_b, _ = reliability_bins(correct, conf, cfg.n_bins)
        ax.plot(conf_b, acc_b, "o-", label=f"{name} (ECE {ece[name]:.3f})")
    ax.set(xlabel="confidence (top-class probability)", ylabel="accuracy", title="Reliability diagram, Fashion-MNIST")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "reliability_diagram.png"))
    correct, conf = top_label_events(y, proba["naive Bayes"])
    ours_true, ours_pred, _ = reliability_bins(correct, conf, cfg.n_bins)
    sk_true, sk_pred = calibration_curve(correct, conf, n_bins=cfg.n_bins, strategy="uniform")
    diff = max(np.abs(ours_true - sk_true).max(), np.abs(ours_pred - sk_pred).max())
    result.check("reliability bins vs sklearn.calibration.calibration_curve, max |diff|", diff, reference=0.0, tolerance=1e-12,
                 source="scikit-learn 1.9 calibration_curve(strategy='uniform')", kind="at_most")
    ratio = ece["naive Bayes + isotonic"] / ece["naive Bayes"]
    result.metric("calibration/ece_ratio_isotonic_over_raw_nb", ratio)
    result.check("isotonic recalibration cuts naive Bayes ECE (ratio after/before)", ratio, reference=0.5, tolerance=0.0,
                 source="Niculescu-Mizil & Caruana, ICML 2005: naive Bayes is badly calibrated; isotonic regression repairs it",
                 kind="at_most")
    result.note("Top-label ECE (Guo et al. 2017, eq. 3) is the binary ECE of the event 'prediction correct' against the "
                "top-class confidence: evaluation.calibration.top_label_ece is defined that way, and its bins are the ones "
                "checked against sklearn's calibration_curve above.")


# -- 6. bootstrap vs closed-form standard errors -----------------------------------------------------
def _bootstrap(result: LabResult, cfg: Config, y, proba, rng, out: Path) -> None:
    yb = (y == SHIRT).astype(int)
    score = proba[:, SHIRT]
    auc = roc_auc(yb, score)
    lo, hi, reps = bootstrap_auc(yb, score, rng, cfg.n_boot, alpha=1 - CI_LEVEL)
    se_boot = result.metric("bootstrap/auc_se", reps.std(ddof=1))
    se_delong = result.metric("bootstrap/auc_se_delong", auc_se_delong(yb, score))
    result.metric("bootstrap/auc_se_hanley_mcneil", auc_se_hanley_mcneil(auc, int(yb.sum()), int(len(yb) - yb.sum())))
    result.metric("bootstrap/auc_ci_low", lo)
    result.metric("bootstrap/auc_ci_high", hi)
    result.check("bootstrap SE of AUC vs DeLong's closed form (relative)", se_boot, reference=se_delong, tolerance=0.25,
                 source="DeLong, DeLong & Clarke-Pearson 1988, Biometrics 44(3): nonparametric variance of AUC", relative=True)
    coverage = result.metric("bootstrap/auc_ci_coverage", auc_ci_coverage(cfg, rng))
    n = cfg.coverage_reps
    result.check(f"bootstrap {CI_LEVEL:.0%} AUC interval covers the true AUC: share of {n} binormal samples "
                 f"({cfg.coverage_n} + {cfg.coverage_n}, AUC {cfg.coverage_auc})", coverage, reference=CI_LEVEL,
                 tolerance=COVERAGE_Z * np.sqrt(CI_LEVEL * (1 - CI_LEVEL) / n),
                 source="Efron & Tibshirani 1993, An Introduction to the Bootstrap, ch. 13 (percentile interval); true AUC exact: "
                 "X⁺ − X⁻ ~ N(Δ, 2) gives AUC = Φ(Δ/√2); tolerance 3 binomial SDs of the count")
    fig, ax = plots.figure()
    ax.hist(reps, bins=40, color="tab:blue", alpha=0.7)
    for x, style in ((lo, "--"), (hi, "--"), (auc, "-")):
        ax.axvline(x, ls=style, color="k")
    ax.set(xlabel="AUC (shirt vs rest)", ylabel="bootstrap replicates", title=f"Bootstrap of AUC: 95% CI [{lo:.3f}, {hi:.3f}]")
    result.artifact(plots.save(fig, out / "bootstrap_auc.png"))


def auc_ci_coverage(cfg: Config, rng, interval=None) -> float:
    """Share of cfg.coverage_reps binormal samples whose bootstrap interval (by default the lab's, bootstrap_auc with
    cfg.n_boot resamples) holds the population AUC; `interval(y, score, rng)` swaps in another method."""
    if interval is None:
        def interval(y, score, rng):
            return bootstrap_auc(y, score, rng, cfg.n_boot, alpha=1 - CI_LEVEL)
    return interval_coverage(interval, cfg.coverage_auc, cfg.coverage_n, cfg.coverage_n, cfg.coverage_reps, rng)
