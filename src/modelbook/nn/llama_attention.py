"""Grouped-query attention with rotary positions: the attention layer of Llama-family models (SmolLM2).

Rotary position embedding (RoPE, Su et al. 2021): rotate each pair of channels of q and k by an angle
proportional to the token's position, θ_i = pos · base^(−2i/d). Then q_m · k_n depends on m − n only, so
attention sees relative positions without a learned position table. (This is the "rotate half"
layout used by Llama and Hugging Face: channel i is paired with channel i + d/2.)

Grouped-query attention (GQA, Ainslie et al. 2023): H query heads share H_kv < H key/value heads, each
K/V head serving H / H_kv query heads. The KV cache shrinks by H / H_kv (SmolLM2-135M: 9 query heads,
3 KV heads, so 3×) at a small cost in quality; H_kv = 1 is multi-query attention, H_kv = H is MHA.

`GroupedQueryAttention.from_llama` copies a Hugging Face LlamaAttention's weights; the lab checks that
our layer reproduces the real SmolLM2 layers' outputs on the same hidden states.
"""
from __future__ import annotations

import torch
from torch import nn

from modelbook.nn.attention import KVCache, scaled_dot_product_attention


def rope_cos_sin(positions: torch.Tensor, head_dim: int, base: float = 10000.0, dtype=torch.float32):
    """cos, sin of shape (T, d) for integer positions (T,)."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (d/2,)
    angles = positions.to(torch.float32)[:, None] * inv_freq[None, :]  # (T, d/2)
    emb = torch.cat([angles, angles], dim=-1)  # (T, d): channel i and i + d/2 share an angle
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, cos, sin):
    """x: (B, H, T, d); cos, sin: (T, d). Rotates channel pairs (i, i + d/2) by their angle."""
    return x * cos + rotate_half(x) * sin


class GroupedQueryAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, head_dim: int, rope_base: float = 10000.0,
                 bias: bool = False):
        super().__init__()
        if n_heads % n_kv_heads:
            raise ValueError(f"n_heads={n_heads} must be a multiple of n_kv_heads={n_kv_heads}")
        self.n_heads, self.n_kv_heads, self.head_dim, self.rope_base = n_heads, n_kv_heads, head_dim, rope_base
        self.q_proj = nn.Linear(d_model, n_heads * head_dim, bias=bias)
        self.k_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=bias)
        self.v_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=bias)
        self.o_proj = nn.Linear(n_heads * head_dim, d_model, bias=bias)

    def forward(self, x, cache: KVCache | None = None, layer: int = 0, return_weights: bool = False):
        """x: (B, T, D) -> (B, T, D). Positions continue after what the cache already holds; causal."""
        b, t, _ = x.shape
        past = cache.length(layer) if cache is not None else 0
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, d)
        k = self.k_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, H_kv, T, d)
        v = self.v_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = rope_cos_sin(torch.arange(past, past + t, device=x.device), self.head_dim, self.rope_base, x.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # the cache holds H_kv heads: that is the saving
        group = self.n_heads // self.n_kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # query head h uses KV head h // group
        out, weights = scaled_dot_product_attention(q, k, v, causal=True, return_weights=True)
        out = self.o_proj(out.transpose(1, 2).reshape(b, t, -1))
        return (out, weights) if return_weights else out

    @classmethod
    @torch.no_grad()
    def from_llama(cls, attn: nn.Module, config) -> "GroupedQueryAttention":
        """Build from a Hugging Face LlamaAttention and its LlamaConfig, sharing no tensors with it."""
        rope = getattr(config, "rope_parameters", None) or {}
        base = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        layer = cls(config.hidden_size, config.num_attention_heads, config.num_key_value_heads, head_dim, base,
                    bias=attn.q_proj.bias is not None)
        layer.load_state_dict({k: v.clone() for k, v in attn.state_dict().items()})
        return layer


def decode_one_by_one(attn: GroupedQueryAttention, x: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Feed x (B, T, D) through attn one token at a time, each step appending its key and value to cache (as a
    decoder generates); the (B, T, D) outputs. cache.nbytes() / T is then the cache's memory per token."""
    return torch.cat([attn(x[:, t:t + 1], cache=cache) for t in range(x.size(1))], dim=1)
