"""How much compute training takes: 6·N·T, where it comes from, and what it leaves out.

A matrix product (m × k) @ (k × n) costs 2·m·k·n floating-point operations (a multiply and an add). A linear
layer with weight W (k × n) applied to T tokens costs 2·T·k·n = 2·T·|W| in the forward pass and twice that in
the backward pass (one product for the gradient of the input, one for the gradient of W). Summed over all
weight matrices, the training cost per step is

    C = 6 · N · T          (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1 and Table 1)

with T the number of tokens processed and N the parameters *that take part in matrix products*. Kaplan et al.
define N without the embeddings (the input lookup is a gather, not a product) and note C_forward ≈ 2N +
2·n_layer·n_ctx·d_attn per token: the second term is attention itself — Q·Kᵀ and the weighted sum of V,
2·n_ctx·d_attn each per layer and token — which depends on the context length, not on parameters, and is
small when d_model ≫ n_ctx / 12. Two refinements matter in practice:
  * the output projection (lm_head, V × d) *is* a matrix product: with a tied embedding it costs 2·V·d per
    token although the embedding is "not counted". For SmolLM2-135M (V = 49,152, d = 576) it is 28M of the
    134.5M parameters, so 6·N_non-embedding·T undercounts by ≈ 27%;
  * an implementation that computes the full T × T score matrix under a causal mask (eager attention) does
    all 2·T²·d_attn multiply-adds per product, not half.

    matmul_params_llama(cfg)         N that feeds matrix products (non-embedding weights + lm_head)
    train_flops_llama(cfg, B, T)     exact matmul FLOPs of forward + backward: 6·N·B·T + attention
    llama_params(cfg)                all parameters (embeddings once if tied)
    gpu_days(flops, peak, mfu)       days on one GPU at a model-FLOPs utilisation
    counted_train_flops(model, ids)  torch.utils.flop_counter's count of a transformers LM's forward + backward
    meta_train_flops(config, seq)    the same count for a LlamaForCausalLM on the meta device (nothing computed)
    CHINCHILLA_TOKENS_PER_PARAM = 20 (Hoffmann et al. 2022: compute-optimal data ≈ 20 tokens per parameter)

Cross-checks: the training-cost lab counts a real SmolLM2 forward + backward with torch.utils.flop_counter and
compares it with these formulas; tests/scaling/test_flops.py checks the parameter counts against transformers.
"""
from __future__ import annotations

from dataclasses import dataclass

CHINCHILLA_TOKENS_PER_PARAM = 20
GPT3 = {"params": 175e9, "tokens": 300e9, "reported_flops": 3.14e23}   # Brown et al. 2020, Table D.1


@dataclass(frozen=True)
class LlamaShape:
    """The shape of a Llama-family decoder (what LlamaConfig calls these fields)."""

    name: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    tie_word_embeddings: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


# Published shapes (the models' config.json files).
SMOLLM2_135M = LlamaShape("SmolLM2-135M", 49152, 576, 1536, 30, 9, 3, tie_word_embeddings=True)
TINYLLAMA_1B = LlamaShape("TinyLlama-1.1B", 32000, 2048, 5632, 22, 32, 4)
LLAMA2_7B = LlamaShape("Llama-2-7B", 32000, 4096, 11008, 32, 32, 32)
LLAMA2_70B = LlamaShape("Llama-2-70B", 32000, 8192, 28672, 80, 64, 8)


def _layer_matmul_params(s: LlamaShape) -> int:
    d, hd = s.hidden_size, s.head_dim
    attn = d * s.num_attention_heads * hd * 2 + d * s.num_key_value_heads * hd * 2   # q, o  and  k, v
    mlp = 3 * d * s.intermediate_size                                                 # gate, up, down
    return attn + mlp


def non_embedding_params(s: LlamaShape) -> int:
    """Kaplan's N: every weight except the token embedding and lm_head (norm scales included)."""
    return s.num_hidden_layers * (_layer_matmul_params(s) + 2 * s.hidden_size) + s.hidden_size


def llama_params(s: LlamaShape) -> int:
    embeddings = s.vocab_size * s.hidden_size * (1 if s.tie_word_embeddings else 2)
    return non_embedding_params(s) + embeddings


def matmul_params_llama(s: LlamaShape) -> int:
    """Parameters used in matrix products: the layers' projections plus lm_head (norm scales are not)."""
    return s.num_hidden_layers * _layer_matmul_params(s) + s.vocab_size * s.hidden_size


def attention_flops_forward(s: LlamaShape, batch: int, seq: int, full_square: bool = True) -> int:
    """Q·Kᵀ and P·V in every layer: 2 products × 2·T·T·d_attn each per sequence (half if only the causal
    triangle were computed)."""
    d_attn = s.num_attention_heads * s.head_dim
    square = seq * seq if full_square else seq * (seq + 1) // 2
    return s.num_hidden_layers * batch * 2 * 2 * square * d_attn


def train_flops_llama(s: LlamaShape, batch: int, seq: int, attention: bool = True) -> dict[str, float]:
    """Matmul FLOPs of one forward + backward over batch × seq tokens: 3 × the forward pass."""
    tokens = batch * seq
    linear = 6 * matmul_params_llama(s) * tokens
    attn = 3 * attention_flops_forward(s, batch, seq) if attention else 0
    return {"linear": linear, "attention": attn, "total": linear + attn,
            "6NT_nonembedding": 6 * non_embedding_params(s) * tokens, "6NT_all": 6 * llama_params(s) * tokens}


def gpu_days(flops: float, peak_flops_per_s: float, mfu: float) -> float:
    """Days of one GPU that sustains `mfu` × its peak dense throughput."""
    return flops / (peak_flops_per_s * mfu) / 86_400


def counted_flops(step) -> int:
    """FLOPs that torch.utils.flop_counter counts while `step()` runs (a forward + backward, say)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def counted_train_flops(model, ids) -> int:
    """FLOPs that torch.utils.flop_counter counts in one forward + backward of a transformers causal LM on `ids`
    (batch × T token ids, which are also the labels). The caller picks the attention implementation ("eager"
    makes Q·Kᵀ and P·V visible to the counter) and the train/eval mode; the gradients are left in place."""
    return counted_flops(lambda: model(input_ids=ids, labels=ids).loss.backward())


def meta_train_flops(config, seq: int) -> int:
    """counted_train_flops of a LlamaForCausalLM built from `config` on the meta device (batch 1 × seq tokens,
    eager attention, train mode): shapes only, nothing is computed, so long sequences and big models are free."""
    import torch
    from transformers import LlamaForCausalLM

    with torch.device("meta"):
        meta = LlamaForCausalLM(config)
    meta.set_attn_implementation("eager")
    meta.train()
    return counted_train_flops(meta, torch.zeros(1, seq, dtype=torch.long, device="meta"))
