"""A fixed-size replay buffer filled by reservoir sampling (Vitter 1985, Algorithm R).

After n items have been offered, each is in the buffer with probability capacity / n, whatever n turns out to be:
a uniform sample of the stream so far, without knowing its length. The tests hold the inclusion frequencies to
capacity / n with a chi-square test.
"""
from __future__ import annotations

import numpy as np


class ReservoirBuffer:
    """Stores indices into a data set (the images stay where they are); `sample` draws a replay batch."""

    def __init__(self, capacity: int, rng: np.random.Generator):
        if capacity < 1:
            raise ValueError(f"buffer capacity must be at least 1, got {capacity}")
        self.capacity, self.rng = capacity, rng
        self.items: list[int] = []
        self.seen = 0

    def add(self, item: int) -> None:
        self.seen += 1
        if len(self.items) < self.capacity:
            self.items.append(item)
        else:
            j = int(self.rng.integers(0, self.seen))      # uniform on 0..seen-1
            if j < self.capacity:
                self.items[j] = item

    def extend(self, items) -> None:
        for item in items:
            self.add(int(item))

    def sample(self, k: int) -> np.ndarray:
        idx = self.rng.integers(0, len(self.items), size=k)
        return np.asarray(self.items)[idx]

    def __len__(self) -> int:
        return len(self.items)
