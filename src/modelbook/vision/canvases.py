"""Generated scenes with exact ground truth: Fashion-MNIST items pasted at random scales onto a blank canvas.

    for each canvas: k ~ U{1..max_items} items, each an image from the pool, resized to s ∈ [min_side, max_side]
    pixels (antialiased bilinear), pasted where its square does not touch an earlier item's box
    mask pixel = class + 1 where the pasted item's intensity > MASK_THRESHOLD, else 0 (background)
    box = the tight box of that item's mask pixels, xyxy with an exclusive end (x1 − x0 = width in pixels)

Because items never overlap, every box and every mask pixel is exact by construction: a detector's and a
segmenter's errors are theirs alone. Deterministic for a given numpy Generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MASK_THRESHOLD = 0.2  # an item pixel belongs to the object above 20% intensity (Fashion-MNIST background is 0)
PLACEMENT_TRIES = 30  # random positions tried per item before the canvas keeps fewer items


@dataclass(frozen=True)
class Canvases:
    images: torch.Tensor          # (N, 1, S, S) float32 in [0, 1]
    masks: torch.Tensor           # (N, S, S) int64: 0 background, c + 1 for class c
    boxes: list[np.ndarray]       # per canvas (k, 4) float64 xyxy, exclusive end
    labels: list[np.ndarray]      # per canvas (k,) int64 classes 0..n_classes-1
    n_classes: int


def _resize(item: np.ndarray, side: int) -> np.ndarray:
    x = torch.from_numpy(item.astype(np.float32) / 255.0)[None, None]
    return F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)[0, 0].clamp(0, 1).numpy()


def make_canvases(items: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator, size: int = 64, max_items: int = 3,
                  min_side: int = 16, max_side: int = 32, n_classes: int | None = None) -> Canvases:
    """n canvases of `size`×`size` from the uint8 item pool `items` (M, 28, 28) with classes `labels` (M,)."""
    if not 0 < min_side <= max_side <= size:
        raise ValueError(f"item sides {min_side}..{max_side} do not fit a {size}-pixel canvas")
    images = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    all_boxes, all_labels = [], []
    for i in range(n):
        boxes, classes, taken = [], [], []
        for _ in range(int(rng.integers(1, max_items + 1))):
            j = int(rng.integers(len(items)))
            side = int(rng.integers(min_side, max_side + 1))
            patch = _resize(items[j], side)
            for _ in range(PLACEMENT_TRIES):
                y0, x0 = int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1))
                if all(x0 >= bx1 or x0 + side <= bx0 or y0 >= by1 or y0 + side <= by0 for bx0, by0, bx1, by1 in taken):
                    break
            else:
                continue
            on = patch > MASK_THRESHOLD
            if not on.any():
                continue
            taken.append((x0, y0, x0 + side, y0 + side))
            images[i, y0:y0 + side, x0:x0 + side] = patch
            masks[i, y0:y0 + side, x0:x0 + side][on] = labels[j] + 1
            rows, cols = np.nonzero(on)
            boxes.append([x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1])
            classes.append(int(labels[j]))
        all_boxes.append(np.asarray(boxes, np.float64).reshape(-1, 4))
        all_labels.append(np.asarray(classes, np.int64))
    k = int(n_classes if n_classes is not None else labels.max() + 1)
    return Canvases(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(masks), all_boxes, all_labels, k)


def item_pool(classes: tuple[int, ...], split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST items of the given classes (relabelled 0..k-1 in that order) from the train or test split, so
    training and evaluation canvases never share an item."""
    from modelbook.data.images import fashion_mnist

    data = fashion_mnist()
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    keep = np.isin(y, classes)
    relabel = np.full(10, -1, np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    return x[keep], relabel[y[keep]]
