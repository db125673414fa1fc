"""Attention, written out (Vaswani et al. 2017, eq. 1).

    Attention(Q, K, V) = softmax(Q Kᵀ / √d) V

Why divide by √d: if the entries of q and k have unit variance, q·k is a sum of d such products and has
variance d. Without the scale, logits grow like √d, the softmax saturates towards one-hot, and its
gradients vanish. Dividing by √d keeps the logit variance near 1. (The source article says the scaling
"reduces complexity"; it does not: the cost is O(T·S·d) with or without it.)

From primitive to assembled:
  softmax_jacobian_norm          ‖∂softmax/∂z‖_F per row: how much gradient flows back through the softmax
  scaled_dot_product_attention   the equation, with a causal mask and a padding mask
  MultiHeadAttention             h heads over learned projections; self-attention (key = query) or
                                 cross-attention (keys/values from another sequence)
  KVCache                        keys and values of past tokens, so decode step t reuses them
  tiled_attention                the same output computed block by block with an online softmax
  tiled_attention_fast           the same online softmax arranged for CPU speed (in place, bigger tiles)
                                 (FlashAttention's idea): memory O(T·d) instead of O(T·S)
Grouped-query attention with rotary positions (the Llama/SmolLM2 layer) is in nn/llama_attention.py.

Shapes: B batch, H heads, T query length, S key length, d head dim, D model dim.
Checked against torch.nn.functional.scaled_dot_product_attention and nn.MultiheadAttention in
tests/nn/test_attention.py.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def causal_mask(t: int, s: int, device=None) -> torch.Tensor:
    """(T, S) bool, True where query i may attend key j: j <= i + (S − T).

    Aligned to the bottom right, so the last query sees every key: with a KV cache the T new queries
    come after S − T cached positions. When T == S this is the usual lower triangle (SDPA's is_causal).
    """
    return torch.ones(t, s, dtype=torch.bool, device=device).tril(diagonal=s - t)


def softmax_jacobian_norm(p: torch.Tensor) -> torch.Tensor:
    """p: (N, K) softmax outputs -> (N,) Frobenius norms of ∂softmax/∂z = diag(p) − p pᵀ, one per row.

    Near 0 when the softmax is saturated (p one-hot): the gradient to the logits vanishes. This is what the
    1/√d scale protects.
    """
    jac = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (N, K, K)
    return jac.flatten(1).norm(dim=1)


def scaled_dot_product_attention(q, k, v, mask=None, causal: bool = False, return_weights: bool = False):
    """q: (..., T, d); k: (..., S, d); v: (..., S, dv) -> (..., T, dv) [, weights (..., T, S)].

    mask: bool, broadcastable to (..., T, S); True means "may attend". A row with nothing to attend to
    comes out NaN, as in PyTorch's own implementation.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., T, S)
    if causal:
        scores = scores.masked_fill(~causal_mask(q.size(-2), k.size(-2), q.device), float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    out = weights @ v
    return (out, weights) if return_weights else out


class MultiHeadAttention(nn.Module):
    """h parallel attentions over learned projections, concatenated and projected back (Vaswani §3.2.2).

        head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V),  MultiHead = Concat(head_1..h) W^O
    """

    def __init__(self, d_model: int, n_heads: int, bias: bool = True, kdim: int | None = None, vdim: int | None = None):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(kdim or d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(vdim or d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split(self, x):  # (B, L, D) -> (B, H, L, d)
        b, length, _ = x.shape
        return x.view(b, length, self.n_heads, self.d_head).transpose(1, 2)

    def forward(self, query, key=None, value=None, key_padding_mask=None, causal: bool = False,
                cache: "KVCache | None" = None, layer: int = 0, need_weights: bool = False):
        """query: (B, T, D); key/value: (B, S, D), default = query (self-attention).

        key_padding_mask: (B, S) bool, True marks padding (PyTorch's convention).
        cache: a KVCache; the new keys/values are appended and attention runs over all of them.
        Returns (B, T, D) [, weights averaged over heads (B, T, S)].
        """
        key = query if key is None else key
        value = key if value is None else value
        q, k, v = self._split(self.q_proj(query)), self._split(self.k_proj(key)), self._split(self.v_proj(value))
        if cache is not None:
            k, v = cache.update(layer, k, v)
        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, S): may attend where not padding
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, return_weights=True)
        b, _, t, _ = out.shape
        out = self.out_proj(out.transpose(1, 2).reshape(b, t, -1))  # (B, T, D)
        return (out, weights.mean(dim=1)) if need_weights else out

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a torch nn.MultiheadAttention (its packed in_proj is split in three)."""
        if mha._qkv_same_embed_dim:
            wq, wk, wv = mha.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
        for proj, w in ((self.q_proj, wq), (self.k_proj, wk), (self.v_proj, wv)):
            proj.weight.copy_(w)
        if mha.in_proj_bias is not None:
            for proj, b in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        if mha.out_proj.bias is not None:
            self.out_proj.bias.copy_(mha.out_proj.bias)
        return self


class KVCache:
    """Per-layer keys and values of the tokens seen so far: (B, H_kv, S, d) each.

    Decoding token t with a cache computes one new key/value and attends over t cached ones: O(t) work
    per step instead of recomputing all t keys and values (O(t²) over the whole sequence for the
    projections). The price is memory: 2 · layers · H_kv · d numbers per token.
    """

    def __init__(self):
        self.k: dict[int, torch.Tensor] = {}
        self.v: dict[int, torch.Tensor] = {}

    def update(self, layer: int, k, v):
        if layer in self.k:
            k = torch.cat([self.k[layer], k], dim=-2)
            v = torch.cat([self.v[layer], v], dim=-2)
        self.k[layer], self.v[layer] = k, v
        return k, v

    def length(self, layer: int = 0) -> int:
        return self.k[layer].size(-2) if layer in self.k else 0

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.k.values(), *self.v.values()))


def tiled_attention(q, k, v, causal: bool = False, block_q: int = 128, block_k: int = 128):
    """Exact attention computed tile by tile with an online softmax (Milakov & Gimelshein 2018; Dao et al. 2022).

    For each block of queries, walk over blocks of keys keeping, per query row, the running maximum m,
    the running normaliser l = Σ exp(s − m) and the running output acc = Σ exp(s − m) v. When a new block
    raises the maximum to m', the old sums are rescaled by exp(m − m'). At the end out = acc / l.
    Only a (block_q × block_k) tile of scores exists at any time, so memory grows like T·d (the output),
    not T·S. q: (..., T, d); k, v: (..., S, d) -> (..., T, d).
    """
    t, s = q.size(-2), k.size(-2)
    scale = 1.0 / math.sqrt(q.size(-1))
    out = torch.empty(*q.shape[:-1], v.size(-1), dtype=q.dtype, device=q.device)
    offset = s - t  # bottom-right causal alignment, as in causal_mask
    for i in range(0, t, block_q):
        qi = q[..., i:i + block_q, :] * scale
        rows = qi.size(-2)
        m = torch.full((*qi.shape[:-1], 1), float("-inf"), dtype=q.dtype, device=q.device)
        l = torch.zeros_like(m)
        acc = torch.zeros(*qi.shape[:-1], v.size(-1), dtype=q.dtype, device=q.device)
        last_key = s if not causal else min(s, i + rows + offset)  # keys after this are masked for every row
        for j in range(0, last_key, block_k):
            scores = qi @ k[..., j:j + block_k, :].transpose(-2, -1)  # (..., rows, cols)
            if causal:
                qpos = torch.arange(i, i + rows, device=q.device)[:, None] + offset
                kpos = torch.arange(j, j + scores.size(-1), device=q.device)[None, :]
                scores = scores.masked_fill(kpos > qpos, float("-inf"))
            m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True))
            m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)  # a row with no key yet
            p = torch.exp(scores - m_safe)
            correction = torch.exp(m - m_safe)
            l = l * correction + p.sum(dim=-1, keepdim=True)
            acc = acc * correction + p @ v[..., j:j + block_k, :]
            m = m_new
        out[..., i:i + block_q, :] = acc / l
    return out


@torch.no_grad()
def tiled_attention_fast(q, k, v, causal: bool = False, block_q: int = 256, block_k: int = 512):
    """tiled_attention's arithmetic arranged for a CPU (inference only; read tiled_attention for the idea).

    Same online softmax, same outputs up to float rounding (tests/nn/test_attention.py), and the same O(T·d)
    memory for fixed tiles. What changes: larger tiles (fewer, bigger matmuls), the scale folded into q once and
    K transposed once, the score tile turned into p in place (sub_, exp_) and the running sums updated in place,
    and the causal mask built only for tiles that cross the diagonal (the others are entirely visible). At
    T = 2048 on one thread this runs at about 1.4x torch's SDPA where tiled_attention takes about 2x
    (benchmarks/attention.py).
    """
    t, s = q.size(-2), k.size(-2)
    qs = q * (1.0 / math.sqrt(q.size(-1)))
    kt = k.transpose(-2, -1)
    out = torch.empty(*q.shape[:-1], v.size(-1), dtype=q.dtype, device=q.device)
    offset = s - t  # bottom-right causal alignment, as in causal_mask
    for i in range(0, t, block_q):
        qi = qs[..., i:i + block_q, :]
        rows = qi.size(-2)
        m = torch.full((*qi.shape[:-1], 1), float("-inf"), dtype=q.dtype, device=q.device)
        l = torch.zeros_like(m)
        acc = torch.zeros(*qi.shape[:-1], v.size(-1), dtype=q.dtype, device=q.device)
        last_key = s if not causal else min(s, i + rows + offset)
        for j in range(0, last_key, block_k):
            scores = qi @ kt[..., j:j + block_k]
            cols = scores.size(-1)
            if causal and j + cols - 1 > i + offset:  # the tile's last key is after its first query: it crosses the diagonal
                qpos = torch.arange(i, i + rows, device=q.device)[:, None] + offset
                kpos = torch.arange(j, j + cols, device=q.device)[None, :]
                scores.masked_fill_(kpos > qpos, float("-inf"))
            m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True))
            m_safe = m_new.masked_fill(torch.isinf(m_new), 0.0)  # a row with no key yet
            p = scores.sub_(m_safe).exp_()
            correction = (m - m_safe).exp_()
            l.mul_(correction).add_(p.sum(dim=-1, keepdim=True))
            acc.mul_(correction).add_(p @ v[..., j:j + block_k, :])
            m = m_new
        out[..., i:i + block_q, :] = acc.div_(l)
    return out
