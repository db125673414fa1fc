"""A multi-layer perceptron for images or feature vectors: the small network the training-craft labs train.

    mlp(784, (256,), 10, dropout=0.2)  ->  Flatten → [Linear → ReLU → Dropout] × len(hidden) → Linear
    input (B, 1, 28, 28) or (B, 784)   ->  logits (B, 10)
"""
from __future__ import annotations

from torch import nn


def mlp(in_features: int, hidden: tuple[int, ...] = (256,), n_out: int = 10, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)
