"""The small CNN whose first layer the interpret lab reads, and a mosaic to lay out its filters and maps.

    conv1  8 filters 5×5, padding 2 → ReLU → max-pool 2      (B, 8, 14, 14)
    conv2 16 filters 3×3, padding 1 → ReLU → max-pool 2      (B, 16, 7, 7)
    flatten → fc 784 → 10 logits

For 28×28 grey images (Fashion-MNIST). The layers are named (conv1, relu1, ..., fc), so a sanity check can
re-initialise them by name and conv1's filters and relu1's activation maps can be read off directly.

Cross-check: tests/interpret/test_cnn.py (the forward pass equals the same layers written with
torch.nn.functional; the mosaic equals a pad-and-reshape construction).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from torch import nn


def small_cnn(n_classes: int = 10) -> nn.Sequential:
    """Two conv layers and a linear classifier for (B, 1, 28, 28) inputs; initialised from torch's global stream."""
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, 8, 5, padding=2), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),       # (B, 8, 14, 14)
        conv2=nn.Conv2d(8, 16, 3, padding=1), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),      # (B, 16, 7, 7)
        flat=nn.Flatten(), fc=nn.Linear(16 * 7 * 7, n_classes)))


def mosaic(images: np.ndarray, n_rows: int, pad_value: float) -> np.ndarray:
    """(N, h, w) → one (n_rows·(h+1), n_cols·(w+1)) image, tiles row by row, separated by a line of pad_value.

    n_cols = ⌈N / n_rows⌉; tiles left over in the last row stay pad_value."""
    n, h, w = images.shape
    n_cols = -(-n // n_rows)
    canvas = np.full((n_rows * (h + 1), n_cols * (w + 1)), pad_value, dtype=float)
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    return canvas
