"""Our Llama decoder (nn/llama.py) equals transformers' LlamaForCausalLM on the same weights and ids."""
import pytest
import torch

from modelbook.nn.llama import HFCausalLM, LlamaLM


def tiny_hf_llama(seed=0, dtype=torch.float64):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, head_dim=8, max_position_embeddings=64, tie_word_embeddings=True,
                      rope_theta=1000.0, rms_norm_eps=1e-6, attn_implementation="eager")
    model = LlamaForCausalLM(cfg).to(dtype).eval()
    with torch.no_grad():  # non-trivial norms (the default init is all ones)
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


def test_logits_and_gradients_equal_transformers_float64():
    hf = tiny_hf_llama()
    ours = LlamaLM.from_hf(hf)
    ids = torch.randint(0, 50, (3, 11), generator=torch.Generator().manual_seed(1))
    ref, got = hf(ids).logits, ours(ids)
    # transformers computes RMSNorm and the RoPE angles in float32 even in a float64 model, so the two agree to
    # float32 precision (~1e-7 relative), not to float64's
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-6)
    names = [name for name, _ in ours.named_parameters()]
    hf_params = dict(hf.named_parameters())
    g_got = torch.autograd.grad(ours(ids).square().mean(), list(ours.parameters()))
    g_ref = torch.autograd.grad(hf(ids).logits.square().mean(), [hf_params["model." + n] for n in names])
    for name, a, b in zip(names, g_got, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=name)


def test_weights_are_shared_not_copied():
    hf = tiny_hf_llama()
    ours = LlamaLM.from_hf(hf)
    assert ours.embed_tokens.weight.data_ptr() == hf.model.embed_tokens.weight.data_ptr()
    assert ours.max_positions == 64


def test_cached_decoding_equals_full_forward():
    hf = tiny_hf_llama()
    ours = LlamaLM.from_hf(hf)
    ids = torch.randint(0, 50, (2, 9), generator=torch.Generator().manual_seed(2))
    full = ours(ids)
    cache = ours.new_cache()
    steps = torch.cat([ours(ids[:, :4], cache)] + [ours(ids[:, t:t + 1], cache) for t in range(4, 9)], dim=1)
    torch.testing.assert_close(steps, full, rtol=1e-10, atol=1e-10)
    assert cache.length() == 9


def test_library_wrapper_with_its_own_cache_equals_ours():
    hf = tiny_hf_llama()
    ours, lib = LlamaLM.from_hf(hf), HFCausalLM(hf)
    ids = torch.randint(0, 50, (1, 7), generator=torch.Generator().manual_seed(3))
    cache = lib.new_cache()
    got = torch.cat([lib(ids[:, :3], cache), lib(ids[:, 3:], cache)], dim=1)
    torch.testing.assert_close(got, ours(ids), rtol=1e-6, atol=1e-6)  # float32 inside transformers (see above)


def test_unsupported_variants_are_refused():
    hf = tiny_hf_llama()
    hf.config.tie_word_embeddings = False
    with pytest.raises(ValueError, match="tie"):
        LlamaLM.from_hf(hf)
