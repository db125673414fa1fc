"""A Vision Transformer from scratch (Dosovitskiy et al. 2021), small enough for 28x28 images on a CPU.

    patches = conv(P×P, stride P)(x)                      (B, D, H/P, W/P): one linear map per non-overlapping patch
    z0 = [cls; patches.flatten] + pos_emb                 (B, N + 1, D), N = (H/P)·(W/P), learned positions
    for each of L blocks (pre-LN):
        z = z + MHA(LN(z))                                bidirectional: every patch sees every patch
        z = z + W2 · GELU(W1 · LN(z))                     W1: D → r·D, W2: r·D → D
    logits = head(LN(z)[:, 0])                            the class token's final state

Attention is modelbook.nn.attention.MultiHeadAttention (itself held equal to nn.MultiheadAttention); a block
equals torch's nn.TransformerEncoderLayer(norm_first=True, activation="gelu") with the same weights
(tests/vision/test_vit.py). What a ViT lacks is the CNN's built-in prior: nothing tells it that neighbouring
pixels belong together or that a pattern means the same thing anywhere; its position embeddings start random
and must learn the 2-D layout from data.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.nn.attention import MultiHeadAttention


class EncoderBlock(nn.Module):
    """Pre-LN Transformer encoder block (no mask, no dropout)."""

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int = 2):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.fc1, self.fc2 = nn.Linear(d_model, mlp_ratio * d_model), nn.Linear(mlp_ratio * d_model, d_model)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z + self.attn(self.ln1(z))
        return z + self.fc2(F.gelu(self.fc1(self.ln2(z))))

    @torch.no_grad()
    def load_from_torch(self, layer: nn.TransformerEncoderLayer) -> "EncoderBlock":
        """Copy the weights of a norm_first nn.TransformerEncoderLayer."""
        self.attn.load_from_torch(layer.self_attn)
        for ours, theirs in ((self.ln1, layer.norm1), (self.ln2, layer.norm2), (self.fc1, layer.linear1), (self.fc2, layer.linear2)):
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
        return self


class ViT(nn.Module):
    def __init__(self, image_size: int = 28, patch: int = 7, in_channels: int = 1, n_classes: int = 10, d_model: int = 64,
                 depth: int = 4, n_heads: int = 4, mlp_ratio: int = 2):
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image size {image_size} is not a multiple of the patch size {patch}")
        n_patches = (image_size // patch) ** 2
        self.patch_embed = nn.Conv2d(in_channels, d_model, kernel_size=patch, stride=patch)  # = a linear map per patch
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos = nn.Parameter(torch.randn(1, n_patches + 1, d_model) * 0.02)
        self.blocks = nn.ModuleList(EncoderBlock(d_model, n_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.patch_embed(x).flatten(2).transpose(1, 2)                  # (B, N, D)
        z = torch.cat([self.cls.expand(len(z), -1, -1), z], dim=1) + self.pos
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z)[:, 0])


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
