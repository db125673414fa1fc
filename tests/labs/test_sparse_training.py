"""Lab `sparse-training`: sparse from scratch at 90%, and the summary over every method."""

METHODS = ("fp32", "static_sparse", "set", "rigl", "magnitude_finetune", "int8_ptq", "magnitude_int8", "binary",
           "gradual", "structured", "distilled")


def test_sparse_training_lab_outcomes(quick_result):
    result, run_dir = quick_result("sparse-training")
    v = result.value
    assert abs(v("dst/RigL_final_density") - 0.1) < 1e-3 and abs(v("dst/SET_final_density") - 0.1) < 1e-3
    assert v("dst/SET_accuracy_mean") >= v("dst/static_sparse_accuracy_mean")
    # at this short budget, pruning a trained dense model is ahead of every sparse-from-scratch method
    assert v("dst/prune_after_training_accuracy") >= max(v(f"dst/{m}_accuracy_mean") for m in ("static_sparse", "SET", "RigL"))
    for m in METHODS:  # the summary table covers every method, each smaller than fp32
        assert v(f"summary/{m}/accuracy") > 0.5
        assert m == "fp32" or v(f"summary/{m}/bytes") < v("summary/fp32/bytes")
    assert v("summary/binary/compression") > 15
    assert v("summary/magnitude_int8/bytes") < v("summary/int8_ptq/bytes")
    assert abs(v("summary/int8_ptq/accuracy") - v("summary/fp32/accuracy")) <= 0.01
    assert {"summary_table.png", "size_vs_accuracy.png"} <= set(result.artifacts)
    assert (run_dir / "summary_table.md").read_text().count("\n") == 2 + len(METHODS)
    assert any(n.startswith("Summary, every method on one model") for n in result.notes)
