"""The few-shot learners on glyph episodes: one conv embedding, three ways to use it.

metric-based       prototypical networks (Snell et al. 2017): class mean of support embeddings, softmax over
                   negative squared Euclidean distances
optimisation-based MAML on the same conv net with a linear N-way head (maml.py does the differentiation)
model-based        an attention learner: a transformer layer reads the support set as tokens
                   (embedding + label embedding) and each query token (embedding + an 'unknown' label), and
                   outputs the query's class; adaptation is one forward pass, no gradient step
                   (a small SNAIL / in-context learner)
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvEmbed(nn.Module):
    """`depth` blocks of conv3×3 with stride 2 → ReLU (20 px → 10 → 5 → 3), flattened. Strided convolutions
    instead of conv + max-pool: a quarter of the arithmetic, for CPU budgets. No batch norm, so it runs under
    torch.func.vmap and uses no statistics shared across the queries (no transduction)."""

    def __init__(self, channels: int = 32, depth: int = 3, size: int = 28, n_out: int = 0):
        super().__init__()
        layers, c = [], 1
        for _ in range(depth):
            layers += [nn.Conv2d(c, channels, 3, stride=2, padding=1), nn.ReLU()]
            c = channels
        self.body = nn.Sequential(*layers, nn.Flatten())
        side = size
        for _ in range(depth):
            side = (side + 1) // 2
        self.dim = channels * side * side
        self.head = nn.Linear(self.dim, n_out) if n_out else None
        if self.head is not None:  # a zero head starts every class equal: MAML's adapted head is then set by the support
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x):
        z = self.body(x)
        return self.head(z) if self.head is not None else z


def prototypes(z_support: torch.Tensor, labels: torch.Tensor, n_way: int) -> torch.Tensor:
    """Class means of the support embeddings: (..., S, D), (..., S) -> (..., N, D)."""
    onehot = F.one_hot(labels, n_way).to(z_support.dtype)                 # (..., S, N)
    return (onehot.transpose(-1, -2) @ z_support) / onehot.sum(-2)[..., None]


def proto_logits(z_query: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """−‖z − c_k‖² for each query and class: (..., Q, D), (..., N, D) -> (..., Q, N)."""
    return -((z_query[..., :, None, :] - protos[..., None, :, :]) ** 2).sum(-1)


def protonet_logits(embed: nn.Module, ep) -> torch.Tensor:
    E, S = ep.support.shape[:2]
    Q = ep.query.shape[1]
    z = embed(torch.cat([ep.support, ep.query], 1).flatten(0, 1)).view(E, S + Q, -1)
    return proto_logits(z[:, S:], prototypes(z[:, :S], ep.support_labels, ep.n_way))


class AttentionLearner(nn.Module):
    """Model-based few-shot learner: support tokens carry their label, query tokens an 'unknown' label; a
    transformer encoder layer mixes them (queries see the support and themselves, not each other), and a
    linear layer maps each query token to N logits. Labels are permuted per episode, so it cannot memorise
    classes: it has to read the answer off the support set."""

    def __init__(self, n_way: int, channels: int = 32, depth: int = 3, size: int = 28, d_model: int = 128, heads: int = 4,
                 layers: int = 1):
        super().__init__()
        self.n_way = n_way
        self.embed = ConvEmbed(channels, depth, size)
        self.proj = nn.Linear(self.embed.dim, d_model)
        self.label = nn.Embedding(n_way + 1, d_model)   # index n_way = unknown
        self.mixer = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout=0.0, batch_first=True,
                                                                      norm_first=True), layers, enable_nested_tensor=False)
        self.out = nn.Linear(d_model, n_way)

    def forward(self, ep) -> torch.Tensor:
        E, S = ep.support.shape[:2]
        Q = ep.query.shape[1]
        h = self.proj(self.embed(torch.cat([ep.support, ep.query], 1).flatten(0, 1))).view(E, S + Q, -1)
        labels = torch.cat([ep.support_labels, torch.full((E, Q), self.n_way)], 1)
        h = h + self.label(labels)
        mask = torch.ones(S + Q, S + Q, dtype=torch.bool)                   # True = may not attend
        mask[:, :S] = False
        mask[S:, S:] = ~torch.eye(Q, dtype=torch.bool)
        mask[:S, S:] = True
        return self.out(self.mixer(h, mask=mask)[:, S:])


def episode_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Query accuracy of each episode: (E, Q, N), (E, Q) -> (E,)."""
    return (logits.argmax(-1) == labels).float().mean(-1)
