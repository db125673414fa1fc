"""Lab `overfitting`: measured outcomes beyond the contract."""


def test_overfitting_lab_outcomes(quick_result):
    result, run_dir = quick_result("overfitting")
    v = result.value
    methods = ("L1", "L2", "dropout", "augmentation", "early stopping")
    # the unregularised net memorises its small training set
    assert v("train_loss/none") < 0.2 and v("gap/loss/none") > 0.3
    # every regulariser's train/validation gap is smaller than the unregularised one's
    for m in methods:
        assert v(f"gap/loss/{m}") < v("gap/loss/none"), m
    # early stopping stopped early and restored an earlier epoch
    assert v("epochs_run/early stopping") <= result.config.epochs
    # plain CV's best score on coin-flip labels is optimistic; nested CV is not
    assert v("cv_random_labels/plain_cv_best") > v("cv_random_labels/nested_cv") + 0.02
    assert abs(v("cv_random_labels/nested_cv") - 0.5) < 0.04
    # the chance check bites: judged by the same binomial interval, plain CV's optimistic best score fails it
    chance = next(c for c in result.checks if c.name.startswith("random labels: nested CV stays at chance"))
    assert chance.passed and abs(v("cv_random_labels/plain_cv_best") - 0.5) > chance.reference + chance.tolerance
    # on real labels the nested estimate tracks the held-out test accuracy on average
    assert abs(v("cv_fashion/mean_nested_minus_test")) < 0.03
    assert v("cv_fashion/plain_cv_best") >= v("cv_fashion/nested_cv") - 0.03
    assert {"regularisers.png", "cross_validation.png"} <= set(result.artifacts)
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
