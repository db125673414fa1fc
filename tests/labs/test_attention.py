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


def test_kv_cache_bytes_check_fails_for_a_cache_that_stores_every_query_head(single_thread):
    """The lab's check: bytes per token measured on the cache after decoding = 2 · H_kv · d · 4 per layer. A cache
    that keeps K and V repeated to all H query heads (as if filled after repeat_interleave) decodes the same
    outputs, so the decode-equals-recompute check cannot see it; the bytes check does."""
    import torch

    from modelbook.nn.attention import KVCache
    from modelbook.nn.llama_attention import GroupedQueryAttention, decode_one_by_one

    class StoresEveryHead(KVCache):  # the fault
        def update(self, layer, k, v):
            k, v = super().update(layer, k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1))
            return k[:, ::2], v[:, ::2]

    torch.manual_seed(0)
    attn = GroupedQueryAttention(d_model=32, n_heads=4, n_kv_heads=2, head_dim=8)
    x = torch.randn(1, 6, 32)
    formula = 2 * 2 * 8 * 4  # K and V, H_kv = 2 heads of d = 8, 4 bytes each
    right, wrong = KVCache(), StoresEveryHead()
    with torch.no_grad():
        full, ok, bad = attn(x), decode_one_by_one(attn, x, right), decode_one_by_one(attn, x, wrong)
    torch.testing.assert_close(ok, full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bad, full, rtol=1e-5, atol=1e-5)
    assert right.nbytes() / x.size(1) == formula
    assert wrong.nbytes() / x.size(1) == 2 * formula
