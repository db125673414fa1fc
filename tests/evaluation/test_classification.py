"""Property tests: our metrics equal scikit-learn's on random inputs (hypothesis)."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from modelbook.evaluation import (
    accuracy,
    auc_se_delong,
    average_precision,
    balanced_accuracy,
    bootstrap_ci,
    confusion_matrix,
    expected_calibration_error,
    precision_recall_curve,
    precision_recall_f1,
    recall_at_precision,
    reliability_bins,
    roc_auc,
    roc_auc_ovr,
    roc_auc_rank,
    roc_curve,
)

SETTINGS = settings(max_examples=150, deadline=None)
labels = st.lists(st.integers(0, 3), min_size=1, max_size=60)


@st.composite
def label_pairs(draw):
    y = draw(labels)
    p = draw(st.lists(st.integers(0, 3), min_size=len(y), max_size=len(y)))
    return np.array(y), np.array(p)


@st.composite
def binary_scores(draw):
    n = draw(st.integers(2, 80))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    # coarse scores so ties are common: ties are where implementations differ
    s = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))) / 10
    return y, s


@SETTINGS
@given(label_pairs())
def test_confusion_and_accuracy_match_sklearn(pair):
    y, p = pair
    np.testing.assert_array_equal(confusion_matrix(y, p), skm.confusion_matrix(y, p))
    assert accuracy(y, p) == skm.accuracy_score(y, p)


@SETTINGS
@given(label_pairs(), st.sampled_from(["macro", "micro", "weighted"]))
def test_precision_recall_f1_averages_match_sklearn(pair, average):
    y, p = pair
    ref = skm.precision_recall_fscore_support(y, p, average=average, zero_division=0)[:3]
    np.testing.assert_allclose(precision_recall_f1(y, p, average=average), ref, rtol=0, atol=1e-12)


@SETTINGS
@given(label_pairs())
def test_binary_average_and_balanced_accuracy_match_sklearn(pair):
    y, p = pair
    yb, pb = (y > 1).astype(int), (p > 1).astype(int)
    ref = skm.precision_recall_fscore_support(yb, pb, average="binary", zero_division=0)[:3]
    np.testing.assert_allclose(precision_recall_f1(yb, pb), ref, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert balanced_accuracy(y, p) == pytest.approx(skm.balanced_accuracy_score(y, p), abs=1e-12)


@SETTINGS
@given(binary_scores())
def test_roc_pr_and_auc_match_sklearn(data):
    y, s = data
    if y.min() == y.max():
        return
    ref_auc = skm.roc_auc_score(y, s)
    assert roc_auc(y, s) == pytest.approx(ref_auc, abs=1e-12)
    assert roc_auc_rank(y, s) == pytest.approx(ref_auc, abs=1e-12)
    fpr, tpr, thr = roc_curve(y, s)
    ref = skm.roc_curve(y, s, drop_intermediate=False)
    for a, b in zip((fpr, tpr, thr), ref):
        np.testing.assert_allclose(a, b)
    for a, b in zip(precision_recall_curve(y, s), skm.precision_recall_curve(y, s)):
        np.testing.assert_allclose(a, b)
    assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


@SETTINGS
@given(binary_scores(), st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0]))
def test_recall_at_precision_is_the_best_recall_over_thresholds(data, p0):
    y, s = data
    if y.max() == 0:
        return
    best = 0.0  # brute force: every threshold t, predicting 1 where s >= t
    for t in np.unique(s):
        pred = s >= t
        tp = int((pred & (y == 1)).sum())
        if tp / pred.sum() >= p0:
            best = max(best, tp / (y == 1).sum())
    assert recall_at_precision(y, s, p0) == pytest.approx(best, abs=1e-12)


@SETTINGS
@given(binary_scores(), st.integers(2, 20))
def test_reliability_bins_match_calibration_curve(data, n_bins):
    y, s = data
    if y.min() == y.max():
        return
    prob_true, prob_pred, counts = reliability_bins(y, s, n_bins)
    ref_true, ref_pred = calibration_curve(y, s, n_bins=n_bins)
    np.testing.assert_allclose(prob_true, ref_true, atol=1e-12)
    np.testing.assert_allclose(prob_pred, ref_pred, atol=1e-12)
    assert counts.sum() == len(y)


def test_multiclass_ovr_auc_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    proba = rng.dirichlet(np.ones(4), 300) + np.eye(4)[y] * 0.3
    proba /= proba.sum(1, keepdims=True)
    for average in ("macro", "weighted"):
        assert roc_auc_ovr(y, proba, average=average) == pytest.approx(
            skm.roc_auc_score(y, proba, multi_class="ovr", average=average), abs=1e-12)


def test_hard_label_auc_is_balanced_accuracy():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    pred = np.where(rng.random(500) < 0.8, y, 1 - y)
    assert roc_auc(y, pred) == pytest.approx(balanced_accuracy(y, pred), abs=1e-12)


def test_ece_is_zero_for_perfectly_calibrated_bins_and_large_for_overconfidence():
    prob = np.repeat([0.25, 0.75], 400)
    y = np.concatenate([np.r_[np.ones(100), np.zeros(300)], np.r_[np.ones(300), np.zeros(100)]])
    assert expected_calibration_error(y, prob, n_bins=10) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error(y, np.where(prob > 0.5, 0.99, 0.01), n_bins=10) == pytest.approx(0.24, abs=1e-12)


def test_bootstrap_se_agrees_with_delong():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    s = y + rng.normal(0, 1.2, 400)
    lo, hi, reps = bootstrap_ci(roc_auc, (y, s), rng, 1000, stratify=y)
    assert lo < roc_auc(y, s) < hi
    assert reps.std(ddof=1) == pytest.approx(auc_se_delong(y, s), rel=0.15)


def test_auc_from_counts_equals_roc_auc_on_the_resampled_arrays():
    """The counts form of the bootstrap AUC (ties included) is roc_auc of the arrays the counts describe."""
    from modelbook.evaluation.uncertainty import auc_from_counts, bootstrap_counts

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120).astype(bool)
    s = np.round(y + rng.normal(0, 1, 120), 1)  # rounded: ties inside and across the classes
    pos, neg = s[y], s[~y]
    c_pos, c_neg = bootstrap_counts(len(pos), rng, 20), bootstrap_counts(len(neg), rng, 20)
    assert (c_pos.sum(1) == len(pos)).all() and (c_neg.sum(1) == len(neg)).all()
    ours = auc_from_counts(pos, neg, c_pos, c_neg)
    for b in range(20):
        rp, rn = np.repeat(pos, c_pos[b]), np.repeat(neg, c_neg[b])
        ref = roc_auc(np.r_[np.ones(len(rp)), np.zeros(len(rn))], np.r_[rp, rn])
        assert ours[b] == pytest.approx(ref, abs=1e-12)


def test_binormal_population_auc_is_exact():
    """Φ(Δ/√2) against a large-sample Mann–Whitney estimate (SE ~0.001 at 40,000 + 40,000)."""
    from modelbook.evaluation.uncertainty import binormal_delta

    rng = np.random.default_rng(4)
    delta = binormal_delta(0.85)
    pos, neg = rng.normal(delta, 1, 40_000), rng.normal(0, 1, 40_000)
    assert roc_auc(np.r_[np.ones(40_000), np.zeros(40_000)], np.r_[pos, neg]) == pytest.approx(0.85, abs=0.004)


def test_student_t_margin_equals_scipy_t_interval():
    import scipy.stats

    from modelbook.evaluation.uncertainty import student_t_margin

    v = np.array([0.012, -0.004, 0.021, 0.007, -0.011, 0.015])
    lo, hi = scipy.stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=scipy.stats.sem(v))
    assert student_t_margin(v, 0.975) == pytest.approx((hi - lo) / 2, rel=1e-12)
    lower = scipy.stats.t.interval(0.90, len(v) - 1, loc=v.mean(), scale=scipy.stats.sem(v))[0]  # one-sided 95%
    assert v.mean() - student_t_margin(v, 0.95) == pytest.approx(lower, rel=1e-12)


def test_paired_lower_bound_is_the_one_sided_student_t_bound():
    from scipy import stats

    from modelbook.evaluation.uncertainty import paired_lower_bound

    gains = [0.1, 0.3, -0.05, 0.2]
    expected = np.mean(gains) - stats.t.ppf(0.95, 3) * np.std(gains, ddof=1) / 2
    assert np.isclose(paired_lower_bound(gains), expected)
    assert np.isclose(paired_lower_bound(gains, 0.99), np.mean(gains) - stats.t.ppf(0.99, 3) * np.std(gains, ddof=1) / 2)
