"""Character language modelling: vocabulary, training windows, evaluation in nats and bits per character,
and the n-gram baselines every neural model must beat.

    loss = −(1/N) Σ log p(c_t | c_{<t})  nats per character;  bits/char = loss / ln 2;  perplexity = e^loss

Baselines with add-α smoothing, estimated on the training text and scored on the validation text:
    unigram  p(c) = (n(c) + α) / (N + α V)                   (no context: the cost of the alphabet alone)
    bigram   p(c | b) = (n(b c) + α) / (n(b) + α V)          (one character of context)
A model below the bigram line has learned something longer-range than letter pairs.
"""
from __future__ import annotations

import math
from collections import Counter

import torch


class CharVocab:
    """Characters of the training text; id 0 stands for a character never seen in training."""

    def __init__(self, text: str):
        self.itos = ["\0"] + sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.stoi.get(c, 0) for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)


class RandomWindows:
    """`n_batches` batches of (x, y) windows cut at random offsets (nanoGPT's get_batch), from a seeded
    generator: an iterable that core.train.fit can treat as one epoch."""

    def __init__(self, data: torch.Tensor, block: int, batch: int, n_batches: int, seed: int):
        self.data, self.block, self.batch, self.n = data, block, batch, n_batches
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        for _ in range(self.n):
            start = torch.randint(len(self.data) - self.block - 1, (self.batch,), generator=self.generator)
            x = torch.stack([self.data[s:s + self.block] for s in start.tolist()])
            y = torch.stack([self.data[s + 1:s + 1 + self.block] for s in start.tolist()])
            yield x, y


@torch.no_grad()
def evaluate(model, data: torch.Tensor, block: int, batch: int = 64) -> float:
    """Mean cross-entropy (nats per character) over consecutive non-overlapping windows of `data`."""
    model.eval()
    n = (len(data) - 1) // block
    x = data[:n * block].view(n, block)
    y = data[1:n * block + 1].view(n, block)
    total = sum(float(model(x[i:i + batch], y[i:i + batch])) * len(x[i:i + batch]) for i in range(0, n, batch))
    return total / n


def ngram_nats(train: str, val: str, order: int, alpha: float = 0.5, vocab: int | None = None) -> float:
    """Add-α unigram (order 1) or bigram (order 2) cross-entropy of `val`, in nats per character."""
    v = vocab or len(set(train) | set(val))
    if order == 1:
        counts, n = Counter(train), len(train)
        return -sum(math.log((counts[c] + alpha) / (n + alpha * v)) for c in val) / len(val)
    if order != 2:
        raise ValueError("order must be 1 or 2")
    pairs, firsts = Counter(zip(train, train[1:])), Counter(train[:-1])
    return -sum(math.log((pairs[(b, c)] + alpha) / (firsts[b] + alpha * v)) for b, c in zip(val, val[1:])) / (len(val) - 1)


@torch.no_grad()
def sample(model, prompt: torch.Tensor, n: int, block: int, temperature: float = 1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Continue prompt (T,) by n characters, re-reading the last `block` characters each step."""
    model.eval()
    ids = prompt.clone()
    for _ in range(n):
        logits = model(ids[-block:][None])[0, -1] / temperature
        ids = torch.cat([ids, torch.multinomial(logits.softmax(-1), 1, generator=generator)])
    return ids[len(prompt):]
