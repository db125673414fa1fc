"""A minimal decoder-only transformer (GPT-2 layout, pre-LayerNorm), small enough to count every tensor.

    x0 = tok_emb[idx] + pos_emb[0..T)                                         (B, T, d)
    for each of n_layer blocks:
        x = x + proj(attention(ln1(x)))          causal, n_head heads of d/n_head
        x = x + fc2(gelu(fc1(ln2(x))))           fc1: d → 4d, fc2: 4d → d
    logits = lm_head(ln_f(x))                                                 (B, T, V)
    loss = cross_entropy(logits, targets)

Parameters: V·d + T_max·d (embeddings) + n_layer·(12d² + 13d) + 2d (final norm) + d·V (untied head), i.e. the
12·n_layer·d² non-embedding weights of Kaplan et al. 2020 plus biases and norms.

It exists so that the training-cost lab can check a memory estimator against measured memory on a model whose
saved-for-backward tensors are known exactly (modelbook.scaling.memory lists them per layer). Two attention
paths: "sdpa" (torch's fused kernel; on CPU a flash-style kernel that keeps only the output and log-sum-exp, no
T×T matrix) and "math" (scores, mask, softmax, weighted sum written out; keeps the T×T probabilities).

Cross-checks: tests/nn/test_gpt.py (math path = torch's fused SDPA path, outputs and gradients; parameter count);
tests/scaling/test_flops_memory.py (the tensors autograd saves = modelbook.scaling.memory's count).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256
    block_size: int = 128
    """longest sequence (size of the position table)"""
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    attention: str = "sdpa"
    """'sdpa' (fused, no T×T activations) or 'math' (written out)"""


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        d = cfg.d_model
        self.n_head, self.attention = cfg.n_head, cfg.attention
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        blocked = torch.ones(cfg.block_size, cfg.block_size, dtype=torch.bool).triu(1)   # True above the diagonal
        self.register_buffer("blocked", blocked, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        h = self.n_head
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, h, d // h).permute(2, 0, 3, 1, 4)   # 3 × (B, h, T, d/h)
        if self.attention == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)                       # (B, h, T, d/h)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))                     # (B, h, T, T)
            scores = scores.masked_fill(self.blocked[:T, :T], float("-inf"))
            y = scores.softmax(dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, d))
        return x + self.mlp(self.ln2(x))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        """The feed-forward half (nn/moe.py's MoEBlock replaces it with a sparse mixture of experts)."""
        return self.fc2(F.gelu(self.fc1(x)))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        """idx (B, T) int64 -> logits (B, T, V); with targets (B, T), the mean cross-entropy instead (the logits
        are then not kept, which is what a training step wants)."""
        T = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def n_params(cfg: GPTConfig) -> int:
    d, L, V = cfg.d_model, cfg.n_layer, cfg.vocab_size
    return V * d + cfg.block_size * d + L * (12 * d * d + 13 * d) + 2 * d + d * V
