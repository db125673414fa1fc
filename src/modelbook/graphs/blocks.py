"""Deep GNNs: plain stacks over-smooth; residual + normalisation blocks keep depth usable. And how to measure it.

Over-smoothing. One GCN propagation is a low-pass filter: Â_norm = D̂^{-1/2} Â D̂^{-1/2} has eigenvalues in
(-1, 1], and the top one (eigenvector ∝ √deg) is 1. Stacking k layers multiplies by Â_norm^k, which converges
to a rank-one projection on each connected component: every node's representation points the same way and the
classes can no longer be told apart (Li, Han & Wu, AAAI 2018; Oono & Suzuki, ICLR 2020). Two measures:

    mean cosine similarity   E_{i≠j} cos(h_i, h_j)                  → 1 when over-smoothed
    Dirichlet energy ratio   tr(Hᵀ (I − Â_norm) H) / ‖H‖²_F          → 0 when over-smoothed (nothing varies
                                                                       across edges any more)

A residual block keeps a path around each convolution, so the input signal is not multiplied away:

    plain:      h ← inverted_dropout(ReLU(GCN(h)))
    residual:   h ← h + GCN(inverted_dropout(ReLU(LayerNorm(h))))        ("res+", pre-activation; Li et al. 2020,
                                                                   DeeperGCN; He et al. 2016 for the ordering)

The source article's "graph convolution block (GCB)" / "graph attention block (GAB)" = "several layers
combined" is not a method; the point of a block is the skip connection and the normalisation, shown here.

Cross-check: tests/graphs/test_blocks.py (depth/identity properties, energy of a constant signal is 0,
repeated propagation converges to the √deg eigenvector).
"""
from __future__ import annotations

import torch
from torch import nn

from modelbook.graphs.gcn import Adjacency, GCNLayer, inverted_dropout, propagate


class ResidualGCNBlock(nn.Module):
    """h + GCN(inverted_dropout(ReLU(LayerNorm(h)))): width-preserving, so blocks stack to any depth."""

    def __init__(self, width: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.conv = GCNLayer(width, width)
        self.dropout = dropout

    def forward(self, h: torch.Tensor, adj: Adjacency) -> torch.Tensor:
        z = inverted_dropout(torch.relu(self.norm(h)), self.dropout, self.training)
        return h + self.conv(z, adj)


class DeepGCN(nn.Module):
    """`depth` graph convolutions, then a linear classifier. The first convolution maps the input features to
    `width` in both variants (so even the skip path carries propagated features, as in DeeperGCN); the other
    depth − 1 are plain GCN layers or residual blocks. `depth` = how many hops a node's output can see."""

    def __init__(self, in_features: int, width: int, n_classes: int, depth: int, residual: bool, dropout: float = 0.5):
        super().__init__()
        self.residual, self.dropout = residual, dropout
        self.first = GCNLayer(in_features, width)
        if residual:
            self.convs = nn.ModuleList(ResidualGCNBlock(width, dropout) for _ in range(depth - 1))
            self.final_norm = nn.LayerNorm(width)
        else:
            self.convs = nn.ModuleList(GCNLayer(width, width) for _ in range(depth - 1))
        self.classifier = nn.Linear(width, n_classes)

    def embed(self, x: torch.Tensor, adj: Adjacency) -> torch.Tensor:
        """(N, width): the node representations after the last convolution (what over-smoothing acts on)."""
        h = self.first(inverted_dropout(x, self.dropout, self.training), adj)
        if not self.residual:
            h = torch.relu(h)
        for conv in self.convs:
            if self.residual:
                h = conv(h, adj)
            else:
                h = torch.relu(conv(inverted_dropout(h, self.dropout, self.training), adj))
        return torch.relu(self.final_norm(h)) if self.residual else h

    def forward(self, x: torch.Tensor, adj: Adjacency) -> torch.Tensor:
        return self.classifier(inverted_dropout(self.embed(x, adj), self.dropout, self.training))


# -- measuring over-smoothing --------------------------------------------------------------------------
def mean_cosine_similarity(h: torch.Tensor, max_nodes: int = 2000, generator: torch.Generator | None = None) -> float:
    """Mean cos(h_i, h_j) over distinct pairs of (a random subset of at most `max_nodes`) rows of h (N, F)."""
    if h.size(0) > max_nodes:
        h = h[torch.randperm(h.size(0), generator=generator)[:max_nodes]]
    u = nn.functional.normalize(h.double(), dim=1)
    n = u.size(0)
    s = u.sum(0)
    total = float(s @ s) - float((u * u).sum())  # Σ_{i≠j} cos = ‖Σu‖² − Σ‖u‖²
    return total / (n * (n - 1))


def dirichlet_energy_ratio(h: torch.Tensor, adj: Adjacency) -> float:
    """tr(Hᵀ(I − Â_norm)H) / ‖H‖²_F in [0, 2): 0 means H is constant along the graph (up to the √deg scaling)."""
    h = h.to(adj.matrix.dtype)
    smooth = propagate(adj, h)
    return float(((h - smooth) * h).sum() / (h * h).sum().clamp_min(1e-300))


def propagate_k(adj: Adjacency, x: torch.Tensor, k: int) -> torch.Tensor:
    """Â_norm^k x without any weights: the pure smoothing a k-layer linear GCN applies (SGC, Wu et al. 2019)."""
    for _ in range(k):
        x = propagate(adj, x)
    return x


def propagation_cosine_curve(adj: Adjacency, x: torch.Tensor, ks: tuple[int, ...], max_nodes: int = 2000,
                             generator: torch.Generator | None = None) -> list[float]:
    """mean_cosine_similarity(Â_norm^k x) for each k of the increasing `ks`: how fast weight-free propagation
    drives every node's representation to one direction. Each power is built from the previous one."""
    curve, done = [], 0
    for k in ks:
        x = propagate_k(adj, x, k - done)
        done = k
        curve.append(mean_cosine_similarity(x, max_nodes, generator))
    return curve
