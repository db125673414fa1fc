"""RoPE scalings and ALiBi (nn/positions.py) against transformers' own computations and the ALiBi paper."""
import math

import pytest
import torch

from modelbook.nn.positions import (
    RopeScaling,
    alibi_bias,
    alibi_slopes,
    linear_inv_freq,
    ntk_inv_freq,
    rope_cos_sin,
    rope_inv_freq,
    yarn_attention_factor,
    yarn_inv_freq,
)

HEAD_DIM, BASE, ORIGINAL = 64, 10000.0, 2048


def hf_rope(rope_type: str, head_dim: int = HEAD_DIM, base: float = BASE, max_positions: int = ORIGINAL, **params):
    """(inv_freq, attention factor) from transformers' ROPE_INIT_FUNCTIONS on a Llama config."""
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    config = LlamaConfig(hidden_size=head_dim * 4, num_attention_heads=4, head_dim=head_dim, max_position_embeddings=max_positions,
                         rope_parameters={"rope_type": rope_type, "rope_theta": base, **params})
    return ROPE_INIT_FUNCTIONS[rope_type](config, "cpu")


@pytest.mark.parametrize("factor", [2.0, 4.0, 8.0])
def test_position_interpolation_equals_transformers_linear(factor):
    ref, attention = hf_rope("linear", factor=factor)
    torch.testing.assert_close(linear_inv_freq(HEAD_DIM, BASE, factor), ref, rtol=1e-6, atol=0)
    assert attention == 1.0


@pytest.mark.parametrize("head_dim,base,factor", [(64, 10000.0, 2.0), (64, 100000.0, 4.0), (16, 10000.0, 8.0)])
def test_ntk_aware_equals_transformers_dynamic_at_the_scaled_length(head_dim, base, factor):
    """transformers' "dynamic" NTK sets base' = base · (k·T/L − (k − 1))^(d/(d−2)) for a sequence of T > L tokens;
    with k = 1 and T = s·L that is the static NTK-aware base change for scale s."""
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    config = LlamaConfig(hidden_size=head_dim * 4, num_attention_heads=4, head_dim=head_dim, max_position_embeddings=ORIGINAL,
                         rope_parameters={"rope_type": "dynamic", "rope_theta": base, "factor": 1.0})
    ref, attention = ROPE_INIT_FUNCTIONS["dynamic"](config, "cpu", int(factor * ORIGINAL))
    torch.testing.assert_close(ntk_inv_freq(head_dim, base, factor), ref, rtol=1e-5, atol=0)
    assert attention == 1.0


def test_ntk_keeps_the_fastest_pair_and_slows_the_slowest_by_the_factor():
    plain, scaled = rope_inv_freq(HEAD_DIM, BASE), ntk_inv_freq(HEAD_DIM, BASE, 4.0)
    assert scaled[0] == plain[0]
    torch.testing.assert_close(scaled[-1], plain[-1] / 4, rtol=1e-5, atol=0)


@pytest.mark.parametrize("head_dim,base,original,factor", [(64, 10000.0, 2048, 4.0), (64, 100000.0, 8192, 2.0),
                                                           (16, 10000.0, 64, 4.0), (12, 10000.0, 32, 2.0)])
def test_yarn_equals_transformers(head_dim, base, original, factor):
    ref, ref_attention = hf_rope("yarn", head_dim, base, original * int(factor), factor=factor,
                                 original_max_position_embeddings=original)
    ours, attention = yarn_inv_freq(head_dim, base, factor, original)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=0)
    assert attention == pytest.approx(ref_attention, rel=1e-12)
    assert attention == pytest.approx(0.1 * math.log(factor) + 1)


def test_yarn_keeps_fast_pairs_and_interpolates_slow_ones():
    plain, (yarn, _) = rope_inv_freq(HEAD_DIM, BASE), yarn_inv_freq(HEAD_DIM, BASE, 4.0, ORIGINAL)
    assert yarn[0] == plain[0]  # thousands of turns in the context: extrapolated as is
    torch.testing.assert_close(yarn[-1], plain[-1] / 4)  # less than one turn: interpolated (PI)
    assert yarn_attention_factor(1.0) == 1.0


def test_rope_scaling_dispatch_and_cos_sin_carry_the_attention_factor():
    s = RopeScaling("yarn", 4.0, ORIGINAL)
    inv_freq, factor = s.inv_freq(HEAD_DIM, BASE)
    cos, sin = rope_cos_sin(torch.arange(5), inv_freq, factor)
    torch.testing.assert_close(cos[0], torch.full((HEAD_DIM,), factor))  # position 0: angle 0, cos = factor
    torch.testing.assert_close(cos.square() + sin.square(), torch.full((5, HEAD_DIM), factor ** 2))
    assert RopeScaling("linear", 1.0).inv_freq(HEAD_DIM, BASE)[0].equal(rope_inv_freq(HEAD_DIM, BASE))
    with pytest.raises(ValueError):
        RopeScaling("ntk-by-parts")


def test_plain_rope_cos_sin_equal_the_llama_attention_ones():
    from modelbook.nn.llama_attention import rope_cos_sin as llama_cos_sin

    pos = torch.arange(37)
    for a, b in zip(rope_cos_sin(pos, rope_inv_freq(HEAD_DIM, BASE)), llama_cos_sin(pos, HEAD_DIM, BASE)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_alibi_slopes_for_8_heads_are_the_papers():
    """Press et al. 2022 §3: for 8 heads the slopes are 1/2^1, 1/2^2, ..., 1/2^8."""
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0 ** -h for h in range(1, 9)]), rtol=0, atol=0)
    # 16 heads: the geometric sequence starting at 1/√2 with ratio 1/√2
    torch.testing.assert_close(alibi_slopes(16), torch.tensor([2.0 ** (-h / 2) for h in range(1, 17)]))


@pytest.mark.parametrize("n_heads", [1, 3, 5, 6, 12, 20, 24])
def test_alibi_slopes_for_any_head_count_equal_blooms(n_heads):
    """BLOOM (an ALiBi model) in transformers builds the slopes into its alibi tensor: slope_h · position."""
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    t = 9
    alibi = build_alibi_tensor(torch.ones(1, t, dtype=torch.long), n_heads, torch.float32)  # (H, 1, T): slope · j
    torch.testing.assert_close(alibi[:, 0, 1], alibi_slopes(n_heads), rtol=1e-6, atol=0)


def test_alibi_bias_is_minus_slope_times_distance_and_causal():
    slopes = alibi_slopes(4)
    bias = alibi_bias(slopes, 6)
    assert bias.shape == (4, 6, 6)
    assert bias[2, 5, 1] == -slopes[2] * 4
    assert torch.isinf(bias[0, 1, 2]) and bias.diagonal(dim1=1, dim2=2).eq(0).all()
    # softmax is shift-invariant per row: BLOOM's +m·j bias gives the same attention as our −m·(i − j)
    scores = torch.randn(4, 6, 6, generator=torch.Generator().manual_seed(0))
    bloom = slopes[:, None, None] * torch.arange(6.0)[None, None, :] + bias.masked_fill(bias.isfinite(), 0.0)
    torch.testing.assert_close((scores + bias).softmax(-1), (scores + bloom).softmax(-1))
