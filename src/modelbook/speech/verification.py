"""Speaker verification: is this utterance spoken by the same voice as that one?

An utterance-level embedding (a small x-vector: per-frame layers over log-mel frames, mean and standard
deviation pooled over time, then a linear layer) is trained to classify the training speakers; on speakers it
never saw, two utterances are scored by the cosine of their embeddings, and a threshold on the score accepts
or rejects. The equal error rate is where false accepts and false rejects are equally frequent.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from modelbook.speech.recognizer import pad


class XVector(nn.Module):
    def __init__(self, n_in: int, n_speakers: int, hidden: int = 96, dim: int = 48):
        super().__init__()
        self.frame = nn.Sequential(nn.Conv1d(n_in, hidden, 5, padding=2), nn.ReLU(),
                                   nn.Conv1d(hidden, hidden, 3, padding=2, dilation=2), nn.ReLU())
        self.embed = nn.Linear(2 * hidden, dim)
        self.classify = nn.Linear(dim, n_speakers)

    def embedding(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.frame(x.transpose(1, 2))  # (N, H, T)
        mask = (torch.arange(h.shape[2])[None] < lengths[:, None]).to(h.dtype)[:, None]
        n = mask.sum(2)
        mean = (h * mask).sum(2) / n
        std = (((h - mean[..., None]) ** 2 * mask).sum(2) / n + 1e-5).sqrt()
        return self.embed(torch.cat([mean, std], 1))

    def forward(self, x, lengths):
        return self.classify(torch.relu(self.embedding(x, lengths)))


def train_xvector(feats: Sequence[np.ndarray], speakers: Sequence[str], epochs: int = 20, lr: float = 3e-3,
                  batch: int = 32, seed: int = 0) -> XVector:
    names = sorted(set(speakers))
    y = torch.tensor([names.index(s) for s in speakers])
    torch.manual_seed(seed)
    net = XVector(feats[0].shape[1], len(names))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(feats), generator=gen).tolist()
        for i in range(0, len(order), batch):
            idx = order[i: i + batch]
            x, lengths = pad([feats[j] for j in idx])
            loss = nn.functional.cross_entropy(net(x, lengths), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def embed(net: XVector, feats: Sequence[np.ndarray]) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(feats), 64):
            x, lengths = pad(feats[i: i + 64])
            out.append(net.embedding(x, lengths).numpy())
    return np.concatenate(out)


def cosine_pairs(emb: np.ndarray, speakers: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine score and same-speaker flag for every unordered pair of utterances."""
    e = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)
    i, j = np.triu_indices(len(e), k=1)
    spk = np.asarray(speakers)
    return (e[i] * e[j]).sum(1), spk[i] == spk[j]
