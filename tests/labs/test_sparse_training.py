"""Lab `sparse-training`: sparse from scratch at 90%, and the summary over every method."""

METHODS = ("fp32_dense", "int8_ptq", "binary_weights", "magnitude_90_plus_fine_tune", "magnitude_90_plus_int8",
           "gradual_90", "structured", "distilled_784_64_32_10", "static_sparse", "set", "rigl")


def test_sparse_training_lab_outcomes(quick_result):
    result, _ = quick_result("sparse-training")
    v = result.value
    assert abs(v("dst/RigL_final_density") - 0.1) < 1e-3 and abs(v("dst/SET_final_density") - 0.1) < 1e-3
    assert v("dst/RigL_accuracy_mean") >= v("dst/static_sparse_accuracy_mean")
    assert v("dst/SET_accuracy_mean") >= v("dst/static_sparse_accuracy_mean")
    for m in METHODS:  # the summary table covers every method, each smaller than fp32
        assert v(f"summary/{m}/accuracy") > 0.5
        assert m == "fp32_dense" or v(f"summary/{m}/bytes") < v("summary/fp32_dense/bytes")
    assert v("summary/binary_weights/compression") > 15
    assert v("summary/magnitude_90_plus_int8/bytes") < v("summary/int8_ptq/bytes")
    assert {"summary_table.png", "size_vs_accuracy.png"} <= set(result.artifacts)
