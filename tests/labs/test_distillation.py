"""Lab `distillation`: the distilled student beats the student alone, on average over seeds."""


def test_distillation_lab_outcomes(quick_result):
    result, _ = quick_result("distillation")
    v = result.value
    assert v("student/n_seeds") >= 3
    assert v("student/kd_accuracy_mean") > v("student/alone_accuracy_mean")
    assert v("teacher/accuracy") > v("student/alone_accuracy_mean")
    assert v("loss/kl_vs_torch_kl_div_abs_diff") < 1e-12
    assert abs(v("loss/grad_norm_ratio_T20_over_T10_with_T2") - 1) < 0.1
    assert v("size/params_ratio") > 3
