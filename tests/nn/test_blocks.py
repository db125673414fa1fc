"""Decoder block variants (nn/blocks.py) against the libraries: transformers' LlamaDecoderLayer / LlamaForCausalLM
(pre-LN, RMSNorm, SwiGLU, RoPE with and without scaling) and torch's nn.TransformerEncoderLayer (pre- and post-LN
LayerNorm + GELU, causal, and with ALiBi as its additive attention mask)."""
import pytest
import torch

from modelbook.nn.blocks import DecoderConfig, DecoderLayer, DecoderLM, with_rope_scaling
from modelbook.nn.positions import RopeScaling, alibi_bias, alibi_slopes


def tiny_llama_config(**rope):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=40, hidden_size=32, intermediate_size=56, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, head_dim=8, max_position_embeddings=16, tie_word_embeddings=True,
                       rms_norm_eps=1e-6, attn_implementation="eager",
                       rope_parameters={"rope_type": "default", "rope_theta": 1000.0, **rope})


def randomise_norms(model):
    with torch.no_grad():  # non-trivial norm weights (the default init is all ones)
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


def causal_additive(t, dtype):
    return torch.full((t, t), float("-inf"), dtype=dtype).triu(1)[None, None]  # (1, 1, T, T)


def test_layer_equals_llama_decoder_layer_float64_outputs_and_gradients():
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    torch.manual_seed(0)
    config = tiny_llama_config()
    ref = randomise_norms(LlamaDecoderLayer(config, layer_idx=0).double())
    ours = DecoderLayer.from_llama(ref, config)
    x = torch.randn(3, 11, 32, dtype=torch.float64, requires_grad=True)
    cos, sin = LlamaRotaryEmbedding(config)(x, torch.arange(11)[None])
    want = ref(x, attention_mask=causal_additive(11, x.dtype), position_embeddings=(cos, sin))
    got = ours(x, **DecoderLM(DecoderConfig(40, 32, 1, 4, 2, 56, rope_base=1000.0)).positional(11))
    # transformers computes the RoPE angles in float32 even in a float64 model: agreement to float32 precision
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    g_got = torch.autograd.grad(got.square().sum(), [x, *ours.parameters()])
    g_ref = torch.autograd.grad(want.square().sum(), [x, *(dict(ref.named_parameters())[n] for n, _ in ours.named_parameters())])
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rope", [{}, {"rope_type": "linear", "factor": 4.0},
                                  {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}])
def test_decoder_lm_equals_llama_for_causal_lm_with_rope_scaling(rope):
    """The whole LM (tied head, final RMSNorm) at 4× the 16-token context, plain, PI and YaRN."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(1)
    config = tiny_llama_config(**rope)
    if rope:
        config.max_position_embeddings = 64
    hf = randomise_norms(LlamaForCausalLM(config).double().eval())
    ours = DecoderLM(DecoderConfig(40, 32, 2, 4, 2, 56, rope_base=1000.0)).double()
    ours.load_state_dict({k.removeprefix("model."): v for k, v in hf.state_dict().items() if k != "lm_head.weight"})
    scaling = RopeScaling({"linear": "linear", "yarn": "yarn"}.get(rope.get("rope_type"), "none"), rope.get("factor", 1.0), 16)
    with_rope_scaling(ours, scaling)
    ids = torch.randint(0, 40, (2, 64), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), hf(ids).logits, rtol=1e-6, atol=1e-6)


def torch_encoder_layer(placement: str, d=24, heads=4, ff=40):
    """torch's encoder layer (biases off, so its LayerNorms have no bias either) and ours with its weights."""
    torch.manual_seed(3)
    ref = torch.nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=placement == "pre", bias=False).double().eval()
    with torch.no_grad():
        ref.norm1.weight.uniform_(0.5, 1.5)
        ref.norm2.weight.uniform_(0.5, 1.5)
    cfg = DecoderConfig(10, d, 1, heads, 0, ff, norm="layer", placement=placement, ffn="gelu", positions="none", eps=ref.norm1.eps)
    ours = DecoderLayer(cfg).double()
    q, k, v = ref.self_attn.in_proj_weight.chunk(3)
    with torch.no_grad():
        for name, w in (("q_proj", q), ("k_proj", k), ("v_proj", v), ("o_proj", ref.self_attn.out_proj.weight)):
            getattr(ours.self_attn, name).weight.copy_(w)
        ours.mlp.up_proj.weight.copy_(ref.linear1.weight)
        ours.mlp.down_proj.weight.copy_(ref.linear2.weight)
        for mine, theirs in ((ours.input_layernorm, ref.norm1), (ours.post_attention_layernorm, ref.norm2)):
            mine.weight.copy_(theirs.weight)
            mine.bias.zero_()
    return ours, ref


@pytest.mark.parametrize("placement", ["pre", "post"])
def test_pre_and_post_ln_layers_equal_torch_transformer_encoder_layer(placement):
    ours, ref = torch_encoder_layer(placement)
    x = torch.randn(2, 9, 24, dtype=torch.float64)
    want = ref(x, src_mask=causal_additive(9, x.dtype)[0, 0], is_causal=True)
    torch.testing.assert_close(ours(x), want, rtol=1e-10, atol=1e-10)


def test_post_ln_output_is_normalised_and_pre_ln_is_not():
    """Post-LN ends each layer with a norm (the residual stream is renormalised); pre-LN lets it grow."""
    post, _ = torch_encoder_layer("post")
    pre, _ = torch_encoder_layer("pre")
    x = 5 * torch.randn(2, 9, 24, dtype=torch.float64)
    with torch.no_grad():
        post.post_attention_layernorm.weight.fill_(1.0)
        y, z = post(x), pre(x)
    torch.testing.assert_close(y.mean(-1), torch.zeros(2, 9, dtype=torch.float64), rtol=0, atol=1e-10)
    assert float(z.std()) > 3


def test_alibi_layer_equals_torch_layer_with_the_bias_as_its_attention_mask():
    no_positions, ref = torch_encoder_layer("pre")
    ours = DecoderLayer(DecoderConfig(10, 24, 1, 4, 0, 40, norm="layer", ffn="gelu", positions="alibi", eps=ref.norm1.eps)).double()
    ours.load_state_dict(no_positions.state_dict())
    x = torch.randn(2, 9, 24, dtype=torch.float64)
    bias = alibi_bias(alibi_slopes(4), 9).double()  # (H, T, T)
    want = ref(x, src_mask=bias.repeat(2, 1, 1))  # (B·H, T, T): torch adds a float mask to the logits per head
    torch.testing.assert_close(ours(x, bias=bias), want, rtol=1e-10, atol=1e-10)


def test_equal_parameters_swiglu_and_gelu_and_errors():
    swiglu, gelu = DecoderLM(DecoderConfig(30, 48, 2)), DecoderLM(DecoderConfig(30, 48, 2, ffn="gelu"))
    assert sum(p.numel() for p in swiglu.parameters()) == sum(p.numel() for p in gelu.parameters())
    learned = DecoderLM(DecoderConfig(30, 48, 1, positions="learned", max_positions=8))
    with pytest.raises(ValueError, match="position table"):
        learned(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError):
        DecoderConfig(30, 48, placement="sandwich")
    with pytest.raises(ValueError, match="RoPE model"):
        with_rope_scaling(learned, RopeScaling("linear", 2.0))
