"""CLIP-style contrastive alignment: InfoNCE from scratch, retrieval Recall@K, zero-shot through the shared space.

For a batch of N pairs with L2-normalised embeddings uᵢ (one modality) and vⱼ (the other) and a learned
temperature τ, the logits are sᵢⱼ = uᵢ·vⱼ / τ and the symmetric InfoNCE loss (Oord et al. 2018; CLIP, Radford et
al. 2021) is

    L = ½ [ mean_i ( logΣⱼ exp sᵢⱼ − sᵢᵢ )  +  mean_j ( logΣᵢ exp sᵢⱼ − sⱼⱼ ) ]

written here with an explicit log-sum-exp; CLIP's pseudo-code computes the same as the mean of two
cross-entropies over the similarity matrix (rows, then columns), and sentence-transformers'
MultipleNegativesSymmetricRankingLoss likewise (tests/multimodal hold all three equal on the same logits).
τ starts at 0.07 as in CLIP, and the logit scale 1/τ is capped at 100.

Retrieval: the pairs share only a label, so an item's relevant matches are every item of the other modality with
the same digit (as COCO counts any of an image's five captions). Recall@K is the share of queries with at least
one relevant item in the top K (torchmetrics calls it the hit rate); its chance level under a random ranking is
1 − C(N − r, K) / C(N, K) for r relevant items among N.

Zero-shot: a class is described in the other modality (its name through MiniLM, or a spoken example) and an
input is assigned to the class whose description is nearest in the shared space; no classifier is trained.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from modelbook.multimodal.encoders import AudioCNN, ImageMLP, TextProjection

MAX_LOGIT_SCALE = 100.0


def info_nce(u: torch.Tensor, v: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    """Symmetric InfoNCE of paired rows of u and v (both (N, d), normalised here)."""
    s = logits(u, v, logit_scale)
    diag = s.diagonal()
    row = torch.logsumexp(s, dim=1) - diag  # "which v matches uᵢ"
    col = torch.logsumexp(s, dim=0) - diag  # "which u matches vⱼ"
    return 0.5 * (row.mean() + col.mean())


def logits(u: torch.Tensor, v: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    u, v = nn.functional.normalize(u, dim=-1), nn.functional.normalize(v, dim=-1)
    return (u @ v.T) * logit_scale


def clip_reference_loss(s: torch.Tensor) -> torch.Tensor:
    """CLIP's pseudo-code on a logit matrix: (CE(rows, labels) + CE(columns, labels)) / 2, labels = arange(N)."""
    labels = torch.arange(s.shape[0])
    return 0.5 * (nn.functional.cross_entropy(s, labels) + nn.functional.cross_entropy(s.T, labels))


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Share of queries (rows) whose top-k items (columns, by score, ties broken by index) hold a relevant one."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.take_along_axis(relevant, top, axis=1).any(axis=1)))


def chance_recall_at_k(relevant: np.ndarray, k: int) -> float:
    """Expected Recall@k under a uniformly random ranking: mean over queries of 1 − C(N − r, k) / C(N, k)."""
    n = relevant.shape[1]
    return float(np.mean([1.0 - math.comb(n - int(r), k) / math.comb(n, k) for r in relevant.sum(1)]))


class Aligner(nn.Module):
    """Three towers into one d-dimensional space: ImageMLP, AudioCNN (log-mel) and a linear map of frozen MiniLM
    sentence embeddings; one learned temperature."""

    def __init__(self, n_mels: int, width: int, d: int = 32, d_text: int = 384):
        super().__init__()
        self.image = nn.Sequential(ImageMLP(width), nn.Linear(width, d))
        self.audio_cnn = AudioCNN(n_mels, width)
        self.audio = nn.Sequential(self.audio_cnn, nn.Linear(width, d))
        self.text = TextProjection(d_text, d)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def embed(self, image=None, mel=None, text=None) -> dict[str, torch.Tensor]:
        out = {}
        for name, x, tower in (("image", image, self.image), ("audio", mel, self.audio), ("text", text, self.text)):
            if x is not None:
                out[name] = nn.functional.normalize(tower(x), dim=-1)
        return out


def train_aligner(model: Aligner, image, mel, text, *, epochs: int, lr: float, generator: torch.Generator,
                  batch_size: int = 128, pairs: tuple[tuple[str, str], ...] = (("image", "audio"), ("image", "text"))):
    """Adam on the sum of InfoNCE over the given modality pairs. With image–audio and image–text only, audio and
    text are never trained against each other: any audio↔text alignment comes through the image space
    (ImageBind's emergent alignment, Girdhar et al. 2023)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(epochs):
        for idx in torch.randperm(len(image), generator=generator).split(batch_size):
            e = model.embed(image[idx], mel[idx], text[idx])
            loss = sum(info_nce(e[a], e[b], model.scale()) for a, b in pairs)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    model.eval()
    return losses
