"""Modality-specific encoders: each modality gets the network that suits its structure.

    ImageMLP      (B, 28, 28) → (B, d): pixels flattened, two GELU layers (position-specific weights suit
                  centred digits)
    ImagePatches  (B, 28, 28) → (B, 16, d): non-overlapping 7×7 patches, a linear map and a learned position
                  embedding, as a ViT's patch embedding: tokens for attention to read
    AudioCNN      (B, n_mels, T) → tokens (B, T/2, d) and a vector (B, d): 1-D convolutions over time on the
                  log-mel bands (the kernels slide, so a word spoken earlier or later gives the same features),
                  a max-pool by 2 after the first, and a global max over time for the vector
    TextProjection (B, 384) → (B, d): a linear map of frozen MiniLM sentence embeddings (the text tower)
"""
from __future__ import annotations

import torch
from torch import nn

IMAGE_SIDE, PATCH = 28, 7


class ImageMLP(nn.Module):
    def __init__(self, width: int, d_out: int | None = None):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(IMAGE_SIDE ** 2, width), nn.GELU(),
                                 nn.Linear(width, d_out or width), nn.GELU())

    def forward(self, image):
        return self.net(image)


class ImagePatches(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.proj = nn.Linear(PATCH * PATCH, d)
        self.pos = nn.Parameter(torch.randn((IMAGE_SIDE // PATCH) ** 2, d) * 0.02)

    def forward(self, image):
        b, g = image.shape[0], IMAGE_SIDE // PATCH
        patches = image.reshape(b, g, PATCH, g, PATCH).permute(0, 1, 3, 2, 4).reshape(b, g * g, PATCH * PATCH)
        return nn.functional.gelu(self.proj(patches) + self.pos)


class AudioCNN(nn.Module):
    def __init__(self, n_mels: int, width: int):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(n_mels, width, 3, padding=1), nn.GELU(), nn.MaxPool1d(2),
                                  nn.Conv1d(width, width, 3, padding=1), nn.GELU(),
                                  nn.Conv1d(width, width, 3, padding=1), nn.GELU())

    def tokens(self, mel) -> torch.Tensor:
        return self.conv(mel).transpose(1, 2)  # (B, T/2, width)

    def forward(self, mel):
        return self.conv(mel).amax(-1)


class TextProjection(nn.Module):
    def __init__(self, d_text: int, d_out: int):
        super().__init__()
        self.proj = nn.Linear(d_text, d_out)

    def forward(self, text_embedding):
        return self.proj(text_embedding)
