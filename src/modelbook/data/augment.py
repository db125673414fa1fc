"""Label-preserving image augmentation for (B, C, H, W) batches, driven by an explicit torch.Generator.

    random_shift(x, max_shift, g)   translate each image by (dy, dx) ∈ [−s, s]², filling with zeros
                                    (= pad by s, then a random crop of the original size)
    random_hflip(x, g, p=0.5)       mirror each image left–right with probability p
    augment(x, g, max_shift=2)      both: the usual recipe for 28x28 Fashion-MNIST

Augmentation is a regulariser: every epoch the network sees a slightly different copy of each image, so it
cannot memorise pixels, and it encodes an invariance we know holds (a shirt moved 2 pixels is a shirt).
Flips suit Fashion-MNIST (garments are roughly mirror-symmetric; footwear pointing the other way is still
footwear) but not digits (a mirrored 2 is not a 2): choose transforms that keep the label.
"""
from __future__ import annotations

import torch


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """x (B, C, H, W) -> (B, C, H, W), each image moved by its own random integer offset."""
    B, _, H, W = x.shape
    s = max_shift
    padded = torch.nn.functional.pad(x, (s, s, s, s))                           # (B, C, H + 2s, W + 2s)
    offsets = torch.randint(0, 2 * s + 1, (B, 2), generator=generator)          # crop corner per image
    out = torch.empty_like(x)
    for dy, dx in torch.unique(offsets, dim=0).tolist():                        # at most (2s + 1)² groups
        rows = (offsets[:, 0] == dy) & (offsets[:, 1] == dx)
        out[rows] = padded[rows, :, dy:dy + H, dx:dx + W]
    return out


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """x (B, C, H, W) -> (B, C, H, W) with a random subset of the images mirrored left–right."""
    flip = torch.rand(x.shape[0], generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def augment(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2, flip: bool = True) -> torch.Tensor:
    x = random_shift(x, max_shift, generator)
    return random_hflip(x, generator) if flip else x
