"""Our attention equals PyTorch's: outputs and gradients, float64 (the strict comparison)."""
import pytest
import torch
import torch.nn.functional as F

from modelbook.nn.attention import (
    KVCache,
    MultiHeadAttention,
    causal_mask,
    scaled_dot_product_attention,
    softmax_jacobian_norm,
    tiled_attention,
    tiled_attention_fast,
)
from modelbook.nn.llama_attention import GroupedQueryAttention, apply_rope, rope_cos_sin


def _qkv(t=16, s=16, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 3, n, d, generator=g, dtype=torch.float64, requires_grad=True) for n in (t, s, s)]


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_matches_torch_outputs_and_gradients(causal):
    q, k, v = _qkv()
    ours = scaled_dot_product_attention(q, k, v, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(torch.autograd.grad(ours.sum(), (q, k, v)), torch.autograd.grad(ref.sum(), (q, k, v)))


def test_padding_mask_matches_torch():
    q, k, v = _qkv(t=5, s=9)
    mask = torch.ones(2, 1, 1, 9, dtype=torch.bool)
    mask[0, ..., 6:] = False
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, mask=mask), F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_softmax_jacobian_norm_matches_autograd():
    z = torch.randn(6, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4
    ref = torch.stack([torch.autograd.functional.jacobian(lambda r: r.softmax(-1), row).norm() for row in z])
    torch.testing.assert_close(softmax_jacobian_norm(z.softmax(-1)), ref)
    # saturated: a one-hot softmax passes no gradient
    assert float(softmax_jacobian_norm(torch.eye(4, dtype=torch.float64)).abs().max()) == 0.0


def test_causal_mask_is_bottom_right_aligned():
    m = causal_mask(2, 4)
    assert m.tolist() == [[True, True, True, False], [True, True, True, True]]


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_nn_multiheadattention(causal):
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(24, 4, batch_first=True, dtype=torch.float64)
    ours = MultiHeadAttention(24, 4).double().load_from_torch(mha)
    x = torch.randn(2, 7, 24, dtype=torch.float64)
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[1, 5:] = True
    attn_mask = ~causal_mask(7, 7) if causal else None
    ref, ref_w = mha(x, x, x, key_padding_mask=pad, attn_mask=attn_mask)
    got, got_w = ours(x, key_padding_mask=pad, causal=causal, need_weights=True)
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(got_w, ref_w)


def test_cross_attention_with_other_key_dims_matches_torch():
    torch.manual_seed(1)
    mha = torch.nn.MultiheadAttention(16, 2, kdim=10, vdim=12, batch_first=True, dtype=torch.float64)
    ours = MultiHeadAttention(16, 2, kdim=10, vdim=12).double().load_from_torch(mha)
    x = torch.randn(3, 4, 16, dtype=torch.float64)
    mk, mv = torch.randn(3, 9, 10, dtype=torch.float64), torch.randn(3, 9, 12, dtype=torch.float64)
    torch.testing.assert_close(ours(x, mk, mv), mha(x, mk, mv)[0])


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("t, s, block", [(33, 33, 8), (5, 40, 16), (64, 64, 64), (17, 17, 1)])
def test_tiled_attention_equals_naive(causal, t, s, block):
    q, k, v = _qkv(t=t, s=s)
    torch.testing.assert_close(tiled_attention(q, k, v, causal=causal, block_q=block, block_k=block + 3),
                               scaled_dot_product_attention(q, k, v, causal=causal))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("t, s, block_q, block_k", [(33, 33, 8, 11), (5, 40, 16, 7), (64, 64, 64, 64), (17, 17, 1, 4),
                                                    (300, 300, 64, 128), (40, 100, 16, 32)])
def test_tiled_attention_fast_equals_the_reference_path(causal, t, s, block_q, block_k):
    q, k, v = _qkv(t=t, s=s)
    naive = scaled_dot_product_attention(q, k, v, causal=causal)
    torch.testing.assert_close(tiled_attention_fast(q, k, v, causal=causal, block_q=block_q, block_k=block_k), naive)
    torch.testing.assert_close(tiled_attention_fast(q, k, v, causal=causal, block_q=block_q, block_k=block_k),
                               tiled_attention(q, k, v, causal=causal, block_q=block_q, block_k=block_k))
    assert q.equal(_qkv(t=t, s=s)[0])  # inputs untouched by the in-place updates


def test_tiled_attention_fast_float32_matches_torch_sdpa():
    torch.manual_seed(3)
    q, k, v = (torch.randn(2, 4, 1000, 64) for _ in range(3))
    for causal in (False, True):
        ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert (tiled_attention_fast(q, k, v, causal=causal) - ref).abs().max() < 1e-5


def test_kv_cache_decode_equals_full_recompute():
    torch.manual_seed(2)
    layer = GroupedQueryAttention(32, n_heads=4, n_kv_heads=2, head_dim=8).double()
    x = torch.randn(2, 9, 32, dtype=torch.float64)
    cache = KVCache()
    prefix = layer(x[:, :4], cache=cache)  # prefill 4 tokens, then decode 5 one by one
    steps = [layer(x[:, t:t + 1], cache=cache) for t in range(4, 9)]
    torch.testing.assert_close(torch.cat([prefix, *steps], dim=1), layer(x))
    assert cache.length() == 9
    assert cache.nbytes() == 2 * 2 * 2 * 9 * 8 * 8  # k and v, batch 2, 2 KV heads, 9 tokens, d 8, float64


def test_rope_makes_scores_depend_on_relative_position_only():
    g = torch.Generator().manual_seed(3)
    q, k = torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64), torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64)

    def score(m, n):
        cm, sm = rope_cos_sin(torch.tensor([m]), 16, dtype=torch.float64)
        cn, sn = rope_cos_sin(torch.tensor([n]), 16, dtype=torch.float64)
        return float((apply_rope(q, cm, sm) * apply_rope(k, cn, sn)).sum())

    # angles are computed in float32, as Llama implementations do, hence 1e-5 rather than float64 precision
    assert score(7, 3) == pytest.approx(score(104, 100), abs=1e-5)
    assert score(7, 3) != pytest.approx(score(7, 4), abs=1e-3)


def test_gqa_matches_transformers_llama_attention():
    """A small random Llama layer from transformers (no download): our layer, same weights, same output."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding

    config = LlamaConfig(hidden_size=48, num_attention_heads=6, num_key_value_heads=2, head_dim=8, rope_theta=500.0,
                         attn_implementation="eager")
    torch.manual_seed(4)
    ref = LlamaAttention(config, layer_idx=0).double().eval()
    ours = GroupedQueryAttention.from_llama(ref, config).double()
    x = torch.randn(2, 11, 48, dtype=torch.float64)
    pos = torch.arange(11)[None].expand(2, -1)
    cos, sin = LlamaRotaryEmbedding(config)(x, pos)
    mask = torch.zeros(1, 1, 11, 11, dtype=torch.float64).masked_fill(~causal_mask(11, 11), float("-inf"))
    expected = ref(x, position_embeddings=(cos, sin), attention_mask=mask)[0]
    torch.testing.assert_close(ours(x), expected)
