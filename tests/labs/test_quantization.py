"""Lab `quantization`: the issue's outcomes on the quick preset."""


def test_quantization_lab_outcomes(quick_result):
    result, run_dir = quick_result("quantization")
    v = result.value
    # our quantizer and dynamic int8 layers equal torch.ao's
    assert v("quantizer/integer_mismatches_vs_torch_ao") == 0
    assert v("dynamic_int8/ours_vs_torch_ao_max_abs_diff") < 1e-4 < v("dynamic_int8/int8_vs_fp32_max_abs_diff")
    # int8 CNN accuracy within 1 point of fp32; int8 is ~4x smaller and binary far smaller still
    assert v("cnn/accuracy/int8_minmax") >= v("cnn/accuracy/fp32") - 0.01
    assert v("cnn/accuracy/int8_torch_ao") >= v("cnn/accuracy/fp32") - 0.01
    assert v("cnn/bytes/binary") < v("cnn/bytes/int8") < 0.3 * v("cnn/bytes/fp32")
    assert v("cnn/accuracy/binary") > 0.6  # far above chance (0.1) with 1-bit hidden weights
    # SmolLM2: int8 perplexity within 5% of fp32, at a quarter of the size; int4 smaller still
    assert v("smollm2/ppl_ratio_to_fp32/int8") <= 1.05
    assert 0.24 < v("smollm2/bytes/int8") / v("smollm2/bytes/fp32") < 0.26
    assert v("smollm2/bytes/int4") < v("smollm2/bytes/int8")
    assert v("smollm2/kl_to_fp32/int8") < 0.05 < v("smollm2/kl_to_fp32/int4")
    # the mixed plan fits its budget and moves the model less than the same-size plan that ignores sensitivity
    assert v("mixed/bytes/sensitivity_guided") <= v("mixed/budget_bytes")
    assert v("mixed/kl_to_fp32/sensitivity_guided") < v("mixed/kl_to_fp32/least_sensitive_kept_int8")
    assert v("mixed/kl_to_fp32/all_int8") < v("mixed/kl_to_fp32/sensitivity_guided") < v("mixed/kl_to_fp32/all_int4")
    # mixed precision: bf16 trains like fp32; fp16 underflow without loss scaling, fixed with it
    assert abs(v("precision/bf16_autocast_training_accuracy") - v("precision/fp32_training_accuracy")) <= 0.02
    assert v("precision/fp16_gradients_lost_at_scale_2^0") > 0.5 > v("precision/fp16_gradients_lost_at_scale_2^16")
    assert v("precision/underflow_demo_accuracy/fp16_loss_scaling") > v("precision/underflow_demo_accuracy/fp16") + 0.05
    assert {"cnn_accuracy.png", "smollm2_table.png", "smollm2_sensitivity.png", "fp16_gradient_underflow.png"} <= set(result.artifacts)


def test_loss_scaling_check_fails_without_a_working_scaler(single_thread):
    """The paired fp16-vs-fp32 check: with loss scaling it holds; with a scaler stuck at 1 (no scaling, the guard
    off) the tiny gradients flush to zero and the mean accuracy gap falls far below the margin."""
    import numpy as np

    from modelbook.compression import workbench as wb
    from modelbook.compression.precision import DynamicLossScaler
    from modelbook.labs.quantization import LOSS_SCALING_MARGIN, loss_scaling_pairs

    split = wb.fashion_split(512, 500, 0)
    good = loss_scaling_pairs(split, [0], epochs=1, lr=0.1)
    stuck = loss_scaling_pairs(split, [0], epochs=1, lr=0.1, make_scaler=lambda: DynamicLossScaler(1.0, growth_factor=1.0))
    assert np.mean(good[0]) - np.mean(good[1]) >= -LOSS_SCALING_MARGIN
    assert np.mean(stuck[0]) - np.mean(stuck[1]) < -LOSS_SCALING_MARGIN - 0.1
