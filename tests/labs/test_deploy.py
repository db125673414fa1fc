"""The deploy lab's quick preset: runtimes agree with fp32, batching is exact, the hot swap loses nothing."""


def test_runtimes_batching_and_hot_swap(quick_result):
    result, run_dir = quick_result("deploy")
    assert result.value("model/test_accuracy") > 0.75
    assert result.value("onnx/max_prob_diff_vs_fp32") < 1e-5
    assert result.value("int8/agreement_with_fp32") >= 0.99
    assert result.value("fp32/size_bytes") / result.value("int8/size_bytes") > 3.5
    assert result.value("load/failed") == 0 and result.value("load/backwards") == 0
    assert result.value("load/swaps_ok") == 3 and result.value("load/requests") > 20
    assert any(n.startswith("Load and swap:") for n in result.notes)
    assert (run_dir / "runtimes.png").stat().st_size > 0
