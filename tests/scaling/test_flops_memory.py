"""The cost formulas: parameter counts vs transformers, FLOPs vs torch's counter, activations vs autograd's saved tensors."""
import pytest
import torch

from modelbook.nn.gpt import GPT, GPTConfig, n_params
from modelbook.scaling.flops import (
    GPT3,
    LLAMA2_7B,
    LLAMA2_70B,
    SMOLLM2_135M,
    TINYLLAMA_1B,
    LlamaShape,
    gpu_days,
    llama_params,
    train_flops_llama,
)
from modelbook.scaling.memory import (
    MasterWeightsAdamW,
    gpt_activation_bytes,
    korthikanti_activation_bytes,
    model_state_bytes,
    training_peak_bytes,
)

pytestmark = pytest.mark.usefixtures("single_thread")


def _llama_config(s: LlamaShape):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=s.vocab_size, hidden_size=s.hidden_size, intermediate_size=s.intermediate_size,
                       num_hidden_layers=s.num_hidden_layers, num_attention_heads=s.num_attention_heads,
                       num_key_value_heads=s.num_key_value_heads, tie_word_embeddings=s.tie_word_embeddings)


@pytest.mark.parametrize("shape", [SMOLLM2_135M, TINYLLAMA_1B, LLAMA2_7B, LLAMA2_70B], ids=lambda s: s.name)
def test_parameter_counts_equal_transformers_models(shape):
    from transformers import LlamaForCausalLM

    with torch.device("meta"):
        model = LlamaForCausalLM(_llama_config(shape))
    assert sum(p.numel() for p in model.parameters()) == llama_params(shape)
    if shape is LLAMA2_7B:
        assert llama_params(shape) == 6_738_415_616   # the figure the Llama 2 model card rounds to 7B


def test_flop_formula_equals_torch_flop_counter_on_a_small_llama():
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import LlamaForCausalLM

    shape = LlamaShape("tiny", 1000, 64, 160, 3, 4, 2, tie_word_embeddings=True)
    config = _llama_config(shape)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).train()
    ids = torch.randint(0, 1000, (2, 24))
    counter = FlopCounterMode(display=False)
    with counter:
        model(input_ids=ids, labels=ids).loss.backward()
    assert counter.get_total_flops() == train_flops_llama(shape, 2, 24)["total"]


def test_gpt3_and_gpu_days():
    assert 6 * GPT3["params"] * GPT3["tokens"] == pytest.approx(3.15e23)
    assert gpu_days(86_400 * 1e15, 1e15, 0.5) == pytest.approx(2.0)


@pytest.mark.parametrize("precision", ["fp32", "mixed"])
@pytest.mark.parametrize("attention", ["sdpa", "math"])
@pytest.mark.parametrize("shape", [(64, 2, 2, 3, 40), (96, 3, 4, 2, 17)])
def test_activation_estimate_equals_the_tensors_autograd_saves(attention, shape, precision):
    """fp32, and the bf16 model of mixed precision: every saved value in 2 bytes except sdpa's fp32 log-sum-exp."""
    d, L, h, B, T = shape
    cfg = GPTConfig(vocab_size=300, block_size=64, n_layer=L, n_head=h, d_model=d, attention=attention)
    torch.manual_seed(0)
    model = GPT(cfg) if precision == "fp32" else GPT(cfg).to(torch.bfloat16)
    assert sum(p.numel() for p in model.parameters()) == n_params(cfg)
    owned = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    saved = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in owned:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    idx = torch.randint(0, 300, (B, T))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(idx, torch.randint(0, 300, (B, T)))   # targets apart from the inputs, as the estimator counts them
    assert sum(saved.values()) == pytest.approx(gpt_activation_bytes(cfg, B, T, precision), rel=1e-3)


def test_state_bytes_and_peak_phases():
    assert model_state_bytes(10, "mixed")["total"] == model_state_bytes(10, "fp32")["total"] == 160
    assert model_state_bytes(int(7.5e9), "mixed")["total"] == 120e9                   # ZeRO §3.1's example
    cfg = GPTConfig(vocab_size=256, block_size=64, n_layer=2, n_head=2, d_model=64)
    est = training_peak_bytes(cfg, 8, 64)
    assert est["peak"] == max(est["backward_start"], est["optimizer_step"]) < est["naive_sum"] + 2 * 4 * 8 * 64 * 256
    assert korthikanti_activation_bytes(1, 10, 2, 8, flash=False) == 34 * 8 * 10 + 5 * 2 * 64
    assert korthikanti_activation_bytes(4, 10, 2, 8, recompute=True) == 4 * 2 * 8 * 10
    mixed = training_peak_bytes(cfg, 8, 64, precision="mixed")
    n, largest = mixed["params"], 4 * 256 * 64                      # lm_head is the largest matrix here
    assert mixed["optimizer_step"] == 16 * n + largest * 3 // 2       # 2 + 2 + 12 bytes, one tensor's fp32 grad + denominator
    assert mixed["backward_start"] == 14 * n + gpt_activation_bytes(cfg, 8, 64, "mixed") + 2 * 2 * 8 * 64 * 256
    tokens, integers = 8 * 64, 8 * (2 * 8 * 64 + 64)
    # half of the fp32 values, except the log-sum-exp (2 heads × 2 layers per token) that stays fp32; integers unchanged
    assert mixed["activations"] == (est["activations"] - integers) // 2 + 2 * (2 * 2) * tokens + integers


@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16])
def test_master_weights_adamw_equals_torch_adamw(half):
    """Three steps on fp32 master weights equal torch.optim.AdamW (single-tensor path) fed the same gradients cast
    to fp32, bit for bit; the 16-bit model ends holding the master weights rounded, and no gradient is left."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, d_model=32)
    model = GPT(cfg).to(half)
    opt = MasterWeightsAdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    ref = [p.detach().float().clone().requires_grad_() for p in model.parameters()]
    torch_opt = torch.optim.AdamW(ref, lr=1e-2, weight_decay=0.1, foreach=False)
    for _ in range(3):
        idx = torch.randint(0, 64, (2, 16))
        model(idx, idx).backward()
        for r, p in zip(ref, model.parameters()):
            r.grad = p.grad.float()
        torch_opt.step()
        opt.step()
    assert all(torch.equal(w, r) for w, r in zip(opt.master, ref))
    assert all(p.dtype == half and torch.equal(p, w.to(half)) for p, w in zip(model.parameters(), opt.master))
    assert all(p.grad is None for p in model.parameters())
    assert all(w.dtype == m.dtype == v.dtype == torch.float32 for w, m, v in zip(opt.master, opt.m, opt.v))
