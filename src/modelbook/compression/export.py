"""A Llama (SmolLM2) decode step with the KV cache as plain tensors, for export to ONNX Runtime.

Hugging Face's models keep the KV cache in Python objects, which an ONNX graph cannot hold. This module
re-states the forward pass of a LlamaForCausalLM with the cache as explicit inputs and outputs:

    logits, k', v' = step(ids (B, T), k (L, B, H_kv, S, d), v (L, B, H_kv, S, d))
    k', v': (L, B, H_kv, S + T, d)

per layer:  h = x + W_O · attn(RoPE(W_Q · n(x)), RoPE(W_K · n(x)), W_V · n(x))     n = RMSNorm
            x' = h + W_down · (silu(W_gate · n(h)) ⊙ W_up · n(h))
and logits = n(x_L) · Eᵀ (the output head is tied to the embedding table E). Its Linear layers are the
model's own modules, so the exported graph carries them as MatMul weights that ONNX Runtime's dynamic
quantizer turns into int8. tests/compression/test_export.py checks the logits against the Hugging Face model.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LlamaDecodeStep(nn.Module):
    def __init__(self, model):
        super().__init__()
        cfg = model.config
        self.n_heads, self.n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        rope = getattr(cfg, "rope_parameters", None) or {}
        self.rope_base = float(rope.get("rope_theta", getattr(cfg, "rope_theta", 10000.0)))
        self.eps = cfg.rms_norm_eps
        self.embed = model.model.embed_tokens
        self.layers = model.model.layers
        self.norm = model.model.norm

    def _rms(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def _rope(self, x, positions):  # x (B, H, T, d), positions (T,)
        inv = 1.0 / self.rope_base ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim)
        angles = positions.to(torch.float32)[:, None] * inv[None, :]  # (T, d/2)
        cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
        x1, x2 = x[..., : self.head_dim // 2], x[..., self.head_dim // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, ids, past_k, past_v):
        b, t = ids.shape
        s = past_k.shape[3]
        positions = torch.arange(t) + s
        allowed = torch.arange(s + t)[None, :] <= positions[:, None]  # (T, S+T) causal, offset by the past
        x = self.embed(ids)  # (B, T, D)
        new_k, new_v = [], []
        for i, layer in enumerate(self.layers):
            attn, mlp = layer.self_attn, layer.mlp
            h = self._rms(x, layer.input_layernorm.weight)
            q = attn.q_proj(h).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
            v = attn.v_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
            q, k = self._rope(q, positions), self._rope(k, positions)
            k = torch.cat([past_k[i], k], dim=2)  # (B, H_kv, S+T, d)
            v = torch.cat([past_v[i], v], dim=2)
            new_k.append(k)
            new_v.append(v)
            group = self.n_heads // self.n_kv
            kk, vv = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
            scores = (q @ kk.transpose(-2, -1)) / self.head_dim ** 0.5  # (B, H, T, S+T)
            scores = scores.masked_fill(~allowed, float("-inf"))
            out = (scores.softmax(-1) @ vv).transpose(1, 2).reshape(b, t, -1)
            x = x + attn.o_proj(out)
            h = self._rms(x, layer.post_attention_layernorm.weight)
            x = x + mlp.down_proj(F.silu(mlp.gate_proj(h)) * mlp.up_proj(h))
        logits = self._rms(x, self.norm.weight) @ self.embed.weight.t()
        return logits, torch.stack(new_k), torch.stack(new_v)

    def empty_cache(self, batch: int = 1, dtype=torch.float32):
        shape = (len(self.layers), batch, self.n_kv, 0, self.head_dim)
        return torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)


def export_onnx(step: LlamaDecodeStep, path) -> None:
    """Export with the TorchScript-based exporter (dynamo=False: fast, no onnxscript needed, deprecated in
    torch 2.9+), dynamic in the number of new tokens T and the cache length S."""
    import warnings

    ids = torch.zeros(1, 2, dtype=torch.long)
    k, v = step.empty_cache()
    k, v = torch.zeros(*k.shape[:3], 3, k.shape[4]), torch.zeros(*v.shape[:3], 3, v.shape[4])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(step, (ids, k, v), str(path), input_names=["ids", "past_k", "past_v"],
                          output_names=["logits", "k", "v"], opset_version=17, dynamo=False,
                          dynamic_axes={"ids": {1: "T"}, "past_k": {3: "S"}, "past_v": {3: "S"},
                                        "logits": {1: "T"}, "k": {3: "S_T"}, "v": {3: "S_T"}})
