"""Lab `multitask`: measured outcomes beyond the contract (quick preset)."""


def test_orderings_and_artifacts(quick_result):
    result, run_dir = quick_result("multitask")
    v = result.value
    assert v("sharing/separate/acc_mean") > v("sharing/hard/acc_mean")
    assert v("sharing/cross_stitch/params") == v("sharing/separate/params") + 8
    assert v("negative/single/acc_left") > v("negative/pcgrad/acc_left") > v("negative/sum/acc_left")
    assert -1 <= v("negative/gradient_cosine_mean") <= 1
    assert abs(v("weighting/gradnorm/weight_sum_seed0") - 2) < 1e-5
    assert v("weighting/sum/loss_ratio_sigma1") > v("weighting/gradnorm/loss_ratio_sigma1")
    for name in ("sharing.png", "weighting.png", "negative_transfer.png"):
        assert (run_dir / name).stat().st_size > 0
