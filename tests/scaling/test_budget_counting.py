"""The moved mechanisms of the training-cost lab: the budget row recomputed by hand, the FLOP counters against the
closed-form count."""
import math

import pytest
import torch

from modelbook.scaling.budget import llama_budget
from modelbook.scaling.flops import (
    LLAMA2_7B,
    SMOLLM2_135M,
    TINYLLAMA_1B,
    LlamaShape,
    counted_train_flops,
    meta_train_flops,
    train_flops_llama,
)

pytestmark = pytest.mark.usefixtures("single_thread")

TINY = LlamaShape("tiny", 1000, 64, 160, 3, 4, 2, tie_word_embeddings=True)


def _llama_config(s: LlamaShape):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=s.vocab_size, hidden_size=s.hidden_size, intermediate_size=s.intermediate_size,
                       num_hidden_layers=s.num_hidden_layers, num_attention_heads=s.num_attention_heads,
                       num_key_value_heads=s.num_key_value_heads, tie_word_embeddings=s.tie_word_embeddings)


@pytest.mark.parametrize("shape", [SMOLLM2_135M, TINYLLAMA_1B, LLAMA2_7B], ids=lambda s: s.name)
def test_llama_budget_equals_a_hand_computation(shape):
    from transformers import LlamaForCausalLM

    with torch.device("meta"):   # the parameter count from the real model class, not from the shape formulas
        n = sum(p.numel() for p in LlamaForCausalLM(_llama_config(shape)).parameters())
    seq, peak, mfu, gpu = 4096, 989e12, 0.4, 80e9
    b = llama_budget(shape, seq, peak, mfu, gpu)
    L, d = shape.num_hidden_layers, shape.hidden_size
    assert b["params"] == n
    assert b["states_fp32"] == 16 * n and b["states_mixed"] == (2 + 2 + 12) * n   # ZeRO §3.1: 16 bytes either way
    assert b["activations"] == L * seq * d * 34                                     # Korthikanti eq. 1, flash (no 5as²b)
    assert b["activations_recompute"] == L * 2 * seq * d
    assert b["gpus_for_states"] == -(-16 * n // 80_000_000_000)
    assert b["tokens"] == 20 * n and b["flops"] == 120 * n * n
    assert b["gpu_days"] == pytest.approx(120 * n * n / (peak * mfu) / 86_400, rel=1e-12)
    assert math.isclose(b["gpu_days"] * 86_400 * peak * mfu, b["flops"], rel_tol=1e-12)


def test_counted_train_flops_equals_the_formula_and_leaves_gradients():
    from transformers import LlamaForCausalLM

    config = _llama_config(TINY)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).train()
    model.set_attn_implementation("eager")
    ids = torch.randint(0, TINY.vocab_size, (2, 24))
    assert counted_train_flops(model, ids) == train_flops_llama(TINY, 2, 24)["total"]
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("seq", [16, 100])
def test_meta_train_flops_equals_the_formula(seq):
    assert meta_train_flops(_llama_config(TINY), seq) == train_flops_llama(TINY, 1, seq)["total"]
