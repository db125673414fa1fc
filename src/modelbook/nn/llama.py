"""A Llama-family decoder (SmolLM2) assembled from our own blocks, runnable on the real SmolLM2 weights.

    x0 = E[ids]                                                     (B, T, D) token embeddings, no position table
    for each of L layers:
        x = x + Attn(RMSNorm(x))            grouped-query attention with RoPE and a KV cache (nn/llama_attention.py)
        x = x + W_down (silu(W_gate h) ⊙ W_up h),  h = RMSNorm(x)       SwiGLU feed-forward (Shazeer 2020)
    logits = RMSNorm(x) Eᵀ                                          (B, T, V) the output head is tied to E

    RMSNorm(x) = g ⊙ x / sqrt(mean(x²) + ε)    (Zhang & Sennrich 2019: LayerNorm without centring or bias)

Why write it out when transformers already runs SmolLM2: the generation lab's decoding loop runs on this
forward, so every piece a reader meets (norm, attention, cache, feed-forward, tied head) is code in this
repository, and the lab proves it equals the library: greedy tokens identical to `transformers.generate`.

`LlamaLM.from_hf(model)` takes the weights of a Hugging Face LlamaForCausalLM: it shares the tensors (no copy,
no random initialisation: 540 MB and a second of CPU saved), so use it for inference, not to train a copy.
`forward(ids, cache)` appends to the cache and returns logits for the new positions only, so one decode step
costs one token's worth of projections plus attention over the cached keys.

Shapes: B batch, T new tokens, S cached + new tokens, D model width, V vocabulary.
Checked in tests/nn/test_llama.py: logits equal LlamaForCausalLM's on the same ids (with and without the
cache, batched), and a float64 copy of a random tiny Llama equals the library to 1e-10 with gradients.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.nn.attention import KVCache
from modelbook.nn.llama_attention import GroupedQueryAttention


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        # computed in float32 (as the reference does), so a bf16/fp16 model normalises without overflow
        h = x.to(torch.float32) if x.dtype in (torch.float16, torch.bfloat16) else x
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


class SwiGLU(nn.Module):
    def __init__(self, d: int, d_ff: int):
        super().__init__()
        self.gate_proj = nn.Linear(d, d_ff, bias=False)
        self.up_proj = nn.Linear(d, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d, bias=False)

    def forward(self, x):  # (B, T, D) -> (B, T, D)
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, attn: GroupedQueryAttention, mlp: SwiGLU, d: int, eps: float):
        super().__init__()
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(d, eps), RMSNorm(d, eps)
        self.self_attn, self.mlp = attn, mlp

    def forward(self, x, cache: KVCache | None, layer: int):
        x = x + self.self_attn(self.input_layernorm(x), cache=cache, layer=layer)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaLM(nn.Module):
    """Token ids -> next-token logits. Decoding code only needs `forward(ids, cache)` and `new_cache()`."""

    def __init__(self, vocab_size: int, d: int, n_layers: int, n_heads: int, n_kv_heads: int, head_dim: int,
                 d_ff: int, rope_base: float = 10000.0, eps: float = 1e-6, max_positions: int = 2048):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab_size, d)
        self.layers = nn.ModuleList(
            LlamaBlock(GroupedQueryAttention(d, n_heads, n_kv_heads, head_dim, rope_base), SwiGLU(d, d_ff), d, eps)
            for _ in range(n_layers))
        self.norm = RMSNorm(d, eps)
        self.max_positions = max_positions
        """the context window: the longest sequence the model was trained on"""

    def new_cache(self) -> KVCache:
        return KVCache()

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V). With a cache, positions continue after the cached ones."""
        x = self.embed_tokens(ids)  # (B, T, D)
        for i, block in enumerate(self.layers):
            x = block(x, cache, i)
        return self.norm(x) @ self.embed_tokens.weight.T  # tied output head: (B, T, V)

    @classmethod
    @torch.no_grad()
    def from_hf(cls, model) -> "LlamaLM":
        """Our model over a Hugging Face LlamaForCausalLM's weight tensors (shared; tied embeddings assumed)."""
        c = model.config
        if not getattr(c, "tie_word_embeddings", False):
            raise ValueError("LlamaLM ties the output head to the embedding; this model has a separate lm_head")
        if getattr(c, "mlp_bias", False) or getattr(c, "attention_bias", False):
            raise ValueError("LlamaLM has no biases; this Llama variant uses them")
        rope = getattr(c, "rope_parameters", None) or {}
        if rope.get("rope_type", "default") != "default":
            raise ValueError(f"only the default RoPE is implemented, not {rope.get('rope_type')!r}")
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        with torch.device("meta"):  # no memory and no initialisation: the weights are assigned below
            ours = cls(c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads,
                       head_dim, c.intermediate_size, rope.get("rope_theta", getattr(c, "rope_theta", 10000.0)),
                       c.rms_norm_eps, c.max_position_embeddings)
        state = {k.removeprefix("model."): v.detach() for k, v in model.state_dict().items() if k != "lm_head.weight"}
        ours.load_state_dict(state, assign=True)
        return ours.eval()


class HFCausalLM(nn.Module):
    """The same decoding interface over a Hugging Face causal LM and its own cache (past_key_values).

    Lets the decoding loop run on the library's forward too, for the side-by-side speed measurement.
    (transformers 5.24 calls the argument `cache`; `past_key_values` is deprecated.)"""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.max_positions = model.config.max_position_embeddings

    def new_cache(self):
        from transformers import DynamicCache

        return DynamicCache()

    def forward(self, ids, cache=None):
        return self.model(ids, cache=cache, use_cache=cache is not None).logits
