"""Lab `metrics`: measured outcomes beyond the contract."""


def test_metrics_lab_outcomes(quick_result):
    result, run_dir = quick_result("metrics")
    v = result.value
    # ours equals sklearn to float precision, on real predictions
    assert result.checks[0].measured <= 1e-12
    # the published digits example, reproduced exactly
    assert round(v("digits/svc_accuracy"), 4) == 0.9689
    # hard labels destroy ranking information: AUC from labels = balanced accuracy, far below AUC from scores
    assert v("shirt_vs_rest/auc_from_scores") > 0.85
    assert abs(v("shirt_vs_rest/auc_from_hard_labels") - v("shirt_vs_rest/balanced_accuracy")) < 1e-12
    assert v("shirt_vs_rest/auc_lost_by_hard_labels") > 0.05
    # naive Bayes is overconfident; isotonic recalibration repairs it without hurting accuracy much
    assert v("calibration/top_label_ece/naive Bayes") > 3 * v("calibration/top_label_ece/naive Bayes + isotonic")
    assert v("calibration/top_label_ece/logistic regression") < 0.05
    assert v("bootstrap/auc_ci_low") < v("shirt_vs_rest/auc_from_scores") < v("bootstrap/auc_ci_high")
    assert {"roc_scores_vs_hard_labels.png", "reliability_diagram.png", "precision_recall.png", "bootstrap_auc.png"} <= set(result.artifacts)
    assert (run_dir / "reliability_diagram.png").read_bytes()[:4] == b"\x89PNG"


def test_coverage_check_fails_for_intervals_that_are_too_narrow():
    """The coverage check (share of binormal samples whose interval holds the true AUC, 0.95 ± 3 binomial SDs over
    the quick preset's repetitions) fails for a 50% interval, for a bootstrap that resamples the positives only
    (it misses the negatives' share of the variance), and for the right interval shrunk by a factor of 2."""
    from dataclasses import replace

    import numpy as np

    from modelbook.evaluation.uncertainty import auc_from_counts, bootstrap_auc, bootstrap_counts
    from modelbook.labs.metrics import CI_LEVEL, COVERAGE_Z, PRESETS, auc_ci_coverage

    cfg = replace(PRESETS["quick"], n_boot=300)
    low = CI_LEVEL - COVERAGE_Z * np.sqrt(CI_LEVEL * (1 - CI_LEVEL) / cfg.coverage_reps)

    def fifty_percent(y, s, rng):
        return bootstrap_auc(y, s, rng, cfg.n_boot, alpha=0.5)

    def positives_only(y, s, rng):
        pos, neg = s[y == 1], s[y == 0]
        fixed = np.ones((cfg.n_boot, len(neg)), dtype=int)
        reps = auc_from_counts(pos, neg, bootstrap_counts(len(pos), rng, cfg.n_boot), fixed)
        return tuple(np.quantile(reps, [0.025, 0.975]))

    def half_width(y, s, rng):
        lo, hi, reps = bootstrap_auc(y, s, rng, cfg.n_boot)
        mid = (lo + hi) / 2
        return mid - (hi - lo) / 4, mid + (hi - lo) / 4

    for faulty in (fifty_percent, positives_only, half_width):
        coverage = auc_ci_coverage(cfg, np.random.default_rng(0), interval=faulty)
        assert coverage < low, (faulty.__name__, coverage, low)
