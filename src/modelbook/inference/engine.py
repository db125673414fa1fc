"""One forward pass for many sequences at once, each with its own KV cache (contiguous, paged or quantised).

    logits = PackedLlama(model).forward([ids_1, ids_2, ...], [cache_1, cache_2, ...])

The new tokens of every sequence are packed into one (N, D) matrix (N = their total count: a whole prompt for a
sequence being prefilled, one token for a sequence being decoded, γ + 1 for a speculative verification), so each
Linear layer runs once for the whole batch, which is where batching pays on any hardware. Attention is the only
part that differs per sequence: sequence i's queries attend to its own cache (read through its block table when
paged) plus its own new tokens, causally, at positions cache.length .. cache.length + T_i − 1. No padding.

The weights are the model's own modules (RMSNorm, RoPE, GQA and SwiGLU as modelbook.compression.export's
LlamaDecodeStep states them); `n_layers` keeps only the first layers, with the final norm and the tied head: the
self-speculative draft (an early exit, as in LayerSkip, Elhoushi et al. 2024).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from modelbook.compression.export import LlamaDecodeStep


class ContiguousCache:
    """One sequence's K and V as preallocated (L, H_kv, capacity, d) tensors: what static batching reserves
    (capacity = the longest prompt + max_new_tokens, whatever this sequence will use)."""

    def __init__(self, n_layers: int, n_kv: int, head_dim: int, capacity: int, dtype=torch.float32):
        self.k = torch.zeros(n_layers, n_kv, capacity, head_dim, dtype=dtype)
        self.v = torch.zeros_like(self.k)
        self.length = 0
        self.capacity = capacity

    def prepare(self, t: int) -> None:
        if self.length + t > self.capacity:
            raise ValueError(f"cache full: {self.length} + {t} tokens > capacity {self.capacity}")

    def write_read(self, layer: int, k, v):
        end = self.length + k.shape[1]
        self.k[layer, :, self.length:end] = k
        self.v[layer, :, self.length:end] = v
        return self.k[layer, :, :end], self.v[layer, :, :end]

    def commit(self, t: int) -> None:
        self.length += t

    def truncate(self, n: int) -> None:
        """Forget every position from n on (rejected draft tokens)."""
        self.length = min(self.length, n)

    @property
    def reserved_slots(self) -> int:
        return self.capacity


class PackedLlama:
    def __init__(self, model, n_layers: int | None = None):
        self.step = LlamaDecodeStep(model)
        self.layers = list(self.step.layers)[: n_layers or len(self.step.layers)]
        self.n_layers = len(self.layers)
        self.n_heads, self.n_kv, self.head_dim = self.step.n_heads, self.step.n_kv, self.step.head_dim
        self.vocab = self.step.embed.weight.shape[0]
        self.max_positions = getattr(model.config, "max_position_embeddings", 2048)

    def new_cache(self, capacity: int) -> ContiguousCache:
        return ContiguousCache(self.n_layers, self.n_kv, self.head_dim, capacity)

    @torch.inference_mode()
    def forward(self, chunks: list, caches: list, all_logits: bool = False) -> list[torch.Tensor]:
        """Logits of each sequence's new tokens: (T_i, V) if all_logits, else its last token's (V,)."""
        chunks = [torch.as_tensor(c, dtype=torch.long).reshape(-1) for c in chunks]
        sizes = [len(c) for c in chunks]
        for c, t in zip(caches, sizes):
            c.prepare(t)
        x = self.step.embed(torch.cat(chunks))  # (N, D)
        positions = [torch.arange(c.length, c.length + t) for c, t in zip(caches, sizes)]
        group, scale = self.n_heads // self.n_kv, self.head_dim ** -0.5
        for i, layer in enumerate(self.layers):
            attn, mlp = layer.self_attn, layer.mlp
            h = self.step._rms(x, layer.input_layernorm.weight)
            q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)
            outs = []
            for qs, ks, vs, cache, pos in zip(q.split(sizes), k.split(sizes), v.split(sizes), caches, positions):
                t = len(pos)
                qs = self.step._rope(qs.view(t, self.n_heads, self.head_dim).transpose(0, 1)[None], pos)[0]
                ks = self.step._rope(ks.view(t, self.n_kv, self.head_dim).transpose(0, 1)[None], pos)[0]
                vs = vs.view(t, self.n_kv, self.head_dim).transpose(0, 1)
                kk, vv = cache.write_read(i, ks, vs)  # (H_kv, S + T, d): the past and these tokens
                kk, vv = kk.repeat_interleave(group, 0), vv.repeat_interleave(group, 0)
                scores = (qs @ kk.transpose(-2, -1)) * scale  # (H, T, S + T)
                allowed = torch.arange(kk.shape[1])[None, :] <= pos[:, None]
                scores = scores.masked_fill(~allowed, float("-inf"))
                outs.append((scores.softmax(-1) @ vv).transpose(0, 1).reshape(t, -1))
            x = x + attn.o_proj(torch.cat(outs))
            h = self.step._rms(x, layer.post_attention_layernorm.weight)
            x = x + mlp.down_proj(F.silu(mlp.gate_proj(h)) * mlp.up_proj(h))
        for c, t in zip(caches, sizes):
            c.commit(t)
        if all_logits:
            hs = self.step._rms(x, self.step.norm.weight)
            return list((hs @ self.step.embed.weight.t()).split(sizes))
        last = torch.tensor(sizes).cumsum(0) - 1
        hs = self.step._rms(x[last], self.step.norm.weight)
        return list(hs @ self.step.embed.weight.t())


def greedy(engine: PackedLlama, prompt: list[int], max_new_tokens: int, eos: int | None = None) -> list[int]:
    """Plain greedy decoding, one sequence: the reference every faster schedule must reproduce."""
    cache = engine.new_cache(len(prompt) + max_new_tokens)
    logits = engine.forward([prompt], [cache])[0]
    out: list[int] = []
    while True:
        y = int(logits.argmax())
        out.append(y)
        if y == eos or len(out) == max_new_tokens:
            return out
        logits = engine.forward([[y]], [cache])[0]


def tiny_llama(seed: int, vocab: int = 512, hidden: int = 64, layers: int = 4, heads: int = 4, kv_heads: int = 2,
               max_positions: int = 1024):
    """A random Llama (transformers' LlamaForCausalLM, tied head) for quick checks that need no trained weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=max_positions,
                      tie_word_embeddings=True, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # larger weights than the 0.02 init: peakier, more varied next-token distributions
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(4.0)
    return model
