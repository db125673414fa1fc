"""Classification metrics from scratch (NumPy only).

Counts for class c, from the confusion matrix C (rows = true class, columns = predicted):
    TP_c = C[c, c]     FP_c = Σ_r C[r, c] − TP_c     FN_c = Σ_k C[c, k] − TP_c

    precision = TP / (TP + FP)      recall = TP / (TP + FN)
    F1 = 2·P·R / (P + R) = 2·TP / (2·TP + FP + FN)      the harmonic mean of precision and *recall*

(The source article says F1 combines accuracy and recall; it combines precision and recall.)
Averages over classes: macro = plain mean; weighted = mean weighted by support (true count);
micro = pool the counts first (for single-label multi-class, micro P = R = F1 = accuracy).
A ratio whose denominator is 0 is `zero_division` (0 by default), as in scikit-learn.

ROC AUC is the probability that a random positive scores above a random negative (ties count ½):
the trapezoid area under the ROC curve equals this Mann–Whitney form exactly. It needs *scores*;
given hard 0/1 labels the curve has one interior point and the "AUC" collapses to balanced accuracy.
Average precision (AP) = Σ_n (R_n − R_{n−1}) · P_n, a step sum (not a trapezoid), as sklearn defines it.

Checked against scikit-learn in tests/evaluation/test_classification.py.
"""
from __future__ import annotations

import numpy as np


def _labels(y_true, y_pred, labels=None) -> np.ndarray:
    if labels is not None:
        return np.asarray(labels)
    return np.unique(np.concatenate([np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()]))


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """C[i, j] = number of samples of true class labels[i] predicted as labels[j]."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = _labels(y_true, y_pred, labels)
    index = {label: i for i, label in enumerate(labels.tolist())}
    keep = np.array([t in index and p in index for t, p in zip(y_true.tolist(), y_pred.tolist())], dtype=bool)
    t = np.array([index[v] for v in y_true[keep].tolist()], dtype=np.int64)
    p = np.array([index[v] for v in y_pred[keep].tolist()], dtype=np.int64)
    k = len(labels)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred))


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def precision_recall_f1(y_true, y_pred, average: str = "binary", pos_label=1, labels=None,
                        zero_division: float = 0.0) -> tuple[float, float, float]:
    """(precision, recall, F1) with average in {"binary", "macro", "micro", "weighted"}."""
    C = confusion_matrix(y_true, y_pred, labels)
    labs = _labels(y_true, y_pred, labels)
    tp = np.diag(C).astype(float)
    fp = C.sum(axis=0) - tp
    fn = C.sum(axis=1) - tp
    support = C.sum(axis=1)
    if average == "binary":
        if pos_label not in labs.tolist():  # the positive class never appears: all three are 0/0
            return (float(zero_division),) * 3
        i = labs.tolist().index(pos_label)
        tp, fp, fn = tp[i:i + 1], fp[i:i + 1], fn[i:i + 1]
    elif average == "micro":
        tp, fp, fn = np.array([tp.sum()]), np.array([fp.sum()]), np.array([fn.sum()])
    elif average not in ("macro", "weighted"):
        raise ValueError(f"average must be binary, macro, micro or weighted, not {average!r}")
    precision = _divide(tp, tp + fp, zero_division)
    recall = _divide(tp, tp + fn, zero_division)
    f1 = _divide(2 * tp, 2 * tp + fp + fn, zero_division)
    if average == "weighted":
        w = support / support.sum() if support.sum() else np.zeros_like(support, dtype=float)
        return float(precision @ w), float(recall @ w), float(f1 @ w)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean recall over the classes present in y_true."""
    C = confusion_matrix(y_true, y_pred)
    support = C.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(C)[present] / support[present]))


def _binary_counts(y_true, y_score):
    """Cumulative (FP, TP) counts at each distinct threshold, scores sorted high to low."""
    y_true = np.asarray(y_true).astype(bool)
    y_score = np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score, kind="mergesort")
    s, t = y_score[order], y_true[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # a threshold = the end of a run of ties
    tps = np.cumsum(t)[last_of_run]
    fps = (last_of_run + 1) - tps
    return fps.astype(float), tps.astype(float), s[last_of_run]


def roc_curve(y_true, y_score):
    """(fpr, tpr, thresholds), starting at (0, 0) with threshold +inf; every distinct threshold kept."""
    fps, tps, thr = _binary_counts(y_true, y_score)
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thr = np.r_[np.inf, thr]
    if fps[-1] == 0 or tps[-1] == 0:
        raise ValueError("ROC needs both classes in y_true")
    return fps / fps[-1], tps / tps[-1], thr


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve by the trapezoid rule."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def roc_auc_rank(y_true, y_score) -> float:
    """The same area as P(score of a positive > score of a negative), ties ½ (Mann–Whitney U / n⁺n⁻)."""
    from scipy.stats import rankdata

    y_true = np.asarray(y_true).astype(bool)
    ranks = rankdata(np.asarray(y_score, dtype=float))  # average ranks for ties
    n_pos, n_neg = y_true.sum(), (~y_true).sum()
    u = ranks[y_true].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def roc_auc_ovr(y_true, proba, labels=None, average: str = "macro") -> float:
    """Multi-class one-vs-rest AUC: class c's column of `proba` scores "is c" vs "is not c"."""
    y_true = np.asarray(y_true)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    aucs = np.array([roc_auc(y_true == c, proba[:, i]) for i, c in enumerate(labels)])
    if average == "macro":
        return float(aucs.mean())
    if average == "weighted":
        support = np.array([(y_true == c).sum() for c in labels], dtype=float)
        return float(aucs @ (support / support.sum()))
    raise ValueError(f"average must be macro or weighted, not {average!r}")


def precision_recall_curve(y_true, y_score):
    """(precision, recall, thresholds) like sklearn >= 1.1: thresholds increasing, every distinct score
    kept, and a final point (P=1, R=0) that has no threshold."""
    fps, tps, thr = _binary_counts(y_true, y_score)
    if tps[-1] == 0:
        raise ValueError("precision-recall needs at least one positive in y_true")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(y_true, y_score) -> float:
    """AP = Σ_n (R_n − R_{n−1}) P_n over thresholds from high to low."""
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def recall_at_precision(y_true, y_score, min_precision: float) -> float:
    """The highest recall of any threshold whose precision is at least `min_precision` (0 if none reaches it)."""
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    ok = precision >= min_precision
    return float(recall[ok].max()) if ok.any() else 0.0
