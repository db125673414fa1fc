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
