"""Lab `attention`: measured outcomes beyond the contract."""


def test_attention_lab_outcomes(quick_result):
    result, _ = quick_result("attention")
    v = result.value
    assert v("sdpa_vs_torch/max_abs_diff_causal") <= 1e-5
    assert v("mha_vs_torch/cross_max_abs_diff") <= 1e-5
    assert v("smollm2/layers_compared") == 30 and v("smollm2/gqa_max_rel_diff") <= 1e-6
    assert v("kv_cache/decode_vs_full_max_abs_diff") <= 1e-5
    # SmolLM2: 30 layers x 3 KV heads x 64 dims x (k and v) x 4 bytes
    assert v("kv_cache/bytes_per_token_all_layers_fp32") == 30 * 3 * 64 * 2 * 4
    assert v("kv_cache/gqa_saving_vs_mha") == 3
    # naive memory quadratic, tiled at most linear; at the longest quick length naive needs far more
    assert v("memory/naive_loglog_slope") > 1.8
    assert v("memory/tiled_loglog_slope") < 1.2
    assert v("memory/naive_over_tiled_T_max") > 10
    # unscaled logits saturate the softmax; scaling keeps it soft
    assert v("sqrt_d/softmax_max_prob_unscaled_d1024") > 0.9 > 0.5 > v("sqrt_d/softmax_max_prob_scaled_d1024")
