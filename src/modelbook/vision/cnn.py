"""A small CNN for 28x28 images, and the mini-batch iterator the vision lab trains everything with.

    x (B, 1, 28, 28) → conv3x3(c1) → ReLU → maxpool2 → conv3x3(c2) → ReLU → maxpool2     (B, c2, 7, 7)
      → flatten → linear(hidden) → ReLU → dropout → linear(n_classes)

With c1 = 16, c2 = 32, hidden = 64: 105,866 parameters, the size of the "2 Conv Layers 113K parameters" row of
the Fashion-MNIST benchmark table (zalandoresearch/fashion-mnist README, test accuracy 0.922). Almost all of the
parameters sit in the first linear layer (32·7·7·64); the convolutions hold 4,800, shared over every position:
that sharing is the locality and translation prior a ViT does not have.
"""
from __future__ import annotations

import torch
from torch import nn

from modelbook.data.augment import augment


class SmallCNN(nn.Module):
    def __init__(self, n_classes: int = 10, c1: int = 16, c2: int = 32, hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Batches:
    """Shuffled mini-batches of (x, y) tensors, reshuffled every pass by its own generator (deterministic per
    seed); with `augment_shift` > 0 each batch is freshly augmented (random shift of up to that many pixels and,
    with `flip`, a random left-right mirror: modelbook.data.augment)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, augment_shift: int = 0,
                 flip: bool = True, shuffle: bool = True):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.augment_shift, self.flip = augment_shift, flip
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for i in range(0, n, self.batch_size):
            idx = order[i:i + self.batch_size]
            xb = self.x[idx]
            if self.augment_shift:
                xb = augment(xb, self.generator, max_shift=self.augment_shift, flip=self.flip)
            yield xb, self.y[idx]


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class predictions (N,) in eval mode, batch by batch."""
    model.eval()
    return torch.cat([model(x[i:i + batch_size]).argmax(-1) for i in range(0, len(x), batch_size)])


def accuracy_on(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((predict(model, x) == y).float().mean())


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, batch_size: int, seed: int,
                     augment_shift: int = 0, weight_decay: float = 0.0, description: str = "training"):
    """AdamW with a cosine decay over all steps, through the shared loop (core/train.py `fit`); returns its state."""
    from modelbook.core.schedules import cosine_with_warmup
    from modelbook.core.train import LRSchedule, fit

    model.to(memory_format=torch.channels_last)  # NHWC convolutions and pooling: ~1.8x faster on one CPU thread here
    batches = Batches(x, y, batch_size, seed, augment_shift=augment_shift)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = LRSchedule(cosine_with_warmup(optimizer, 0, epochs * len(batches)), interval="step")
    return fit(model, batches, optimizer, epochs, criterion=nn.CrossEntropyLoss(), callbacks=[schedule], description=description)
