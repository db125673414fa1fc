"""Query embeddings: GQE (a query is a point) and Query2Box (a query is a box), from scratch.

Both embed a query by walking its structure (queries.py) with learned operators, then score every entity v
by a distance to the query embedding: logit(v) = γ − dist(v, q).

GQE (Hamilton et al., NeurIPS 2018), in the form Query2Box and BetaE use as their baseline:
    anchor e → its embedding;   projection q ↦ q + r;   intersection {q_i} ↦ Σ_i a_i q_i,
    a = softmax_i(MLP(q_i)) per dimension (attention over the branches);   dist = ‖v − q‖₁

Query2Box (Ren, Hu & Leskovec, ICLR 2020): a query is a box, center c and non-negative offset o;
the answers are the entities inside it.
    anchor e → (e, 0);   projection (c, o) ↦ (c + r_c, o + ReLU(r_o))
    intersection: c = Σ_i a_i c_i (attention as GQE);   o = min_i o_i ∘ σ(DeepSets({o_i}))  (boxes only shrink)
    dist(v) = ‖ReLU(v − q_max) + ReLU(q_min − v)‖₁ + α ‖c − clip(v, q_min, q_max)‖₁      (outside + α·inside)
A box can hold many answers at the same distance; a point must put them all at one spot, which is why boxes
help most on queries with large answer sets.

Training (both): sample a query and one of its answers, k entities that are not answers, and minimise
    −log σ(γ − dist(v, q)) − (1/k) Σ_j log σ(dist(v'_j, q) − γ)              (Query2Box eq. 5)

Cross-check: tests/multihop/test_models.py (a box contains its center, distance 0 inside and the α-weighted
inside term; projection of a zero-offset box is a point; intersection offsets never exceed the smallest input;
GQE on 1p queries is TransE).
"""
from __future__ import annotations

import torch
from torch import nn

from modelbook.multihop.queries import Anchor, Node, Project


class _Attention(nn.Module):
    """Per-dimension softmax weights over the branches of an intersection: (n, B, d) -> (n, B, d)."""

    def __init__(self, dim: int):
        super().__init__()
        self.layer1, self.layer2 = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.layer2(torch.relu(self.layer1(x))), dim=0)


class GQE(nn.Module):
    def __init__(self, n_entities: int, n_relations: int, dim: int, gamma: float = 12.0):
        super().__init__()
        self.n_entities, self.gamma = n_entities, gamma
        bound = (gamma + 2.0) / dim                       # KGReasoning's initialisation range
        self.entity = nn.Parameter(torch.empty(n_entities, dim).uniform_(-bound, bound))
        self.relation = nn.Parameter(torch.empty(n_relations, dim).uniform_(-bound, bound))
        self.attention = _Attention(dim)

    def embed(self, node: Node, anchors: torch.Tensor, relations: torch.Tensor) -> torch.Tensor:
        """(B, d) query points for a batch of one structure."""
        if isinstance(node, Anchor):
            return self.entity[anchors[:, node.slot]]
        if isinstance(node, Project):
            return self.embed(node.sub, anchors, relations) + self.relation[relations[:, node.slot]]
        q = torch.stack([self.embed(s, anchors, relations) for s in node.subs])    # (n, B, d)
        return (self.attention(q) * q).sum(0)

    def logits(self, node: Node, anchors: torch.Tensor, relations: torch.Tensor, entities: torch.Tensor | None = None):
        """γ − ‖v − q‖₁ for entities (B, k) or, if None, for all N entities: (B, k) or (B, N)."""
        q = self.embed(node, anchors, relations)
        v = self.entity if entities is None else self.entity[entities]             # (N, d) or (B, k, d)
        if entities is None:
            return self.gamma - torch.cdist(q, v, p=1)
        return self.gamma - (v - q[:, None, :]).abs().sum(-1)


class Query2Box(nn.Module):
    def __init__(self, n_entities: int, n_relations: int, dim: int, gamma: float = 12.0, alpha: float = 0.2):
        super().__init__()
        self.n_entities, self.gamma, self.alpha = n_entities, gamma, alpha
        bound = (gamma + 2.0) / dim
        self.entity = nn.Parameter(torch.empty(n_entities, dim).uniform_(-bound, bound))
        self.relation = nn.Parameter(torch.empty(n_relations, dim).uniform_(-bound, bound))
        self.offset = nn.Parameter(torch.empty(n_relations, dim).uniform_(0.0, bound))
        self.attention = _Attention(dim)
        self.deepsets1, self.deepsets2 = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def embed(self, node: Node, anchors: torch.Tensor, relations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """((B, d) center, (B, d) non-negative offset)."""
        if isinstance(node, Anchor):
            c = self.entity[anchors[:, node.slot]]
            return c, torch.zeros_like(c)
        if isinstance(node, Project):
            c, o = self.embed(node.sub, anchors, relations)
            r = relations[:, node.slot]
            return c + self.relation[r], o + torch.relu(self.offset[r])
        boxes = [self.embed(s, anchors, relations) for s in node.subs]
        c = torch.stack([b[0] for b in boxes])                                    # (n, B, d)
        o = torch.stack([b[1] for b in boxes])
        center = (self.attention(c) * c).sum(0)
        gate = torch.sigmoid(self.deepsets2(torch.relu(self.deepsets1(o)).mean(0)))   # DeepSets over the offsets
        return center, o.min(0).values * gate

    def distance(self, v: torch.Tensor, center: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """v (..., d) against boxes broadcast to it: outside distance + α · inside distance."""
        lo, hi = center - offset, center + offset
        outside = (torch.relu(v - hi) + torch.relu(lo - v)).sum(-1)
        inside = (center - torch.minimum(hi, torch.maximum(lo, v))).abs().sum(-1)
        return outside + self.alpha * inside

    def logits(self, node: Node, anchors: torch.Tensor, relations: torch.Tensor, entities: torch.Tensor | None = None):
        c, o = self.embed(node, anchors, relations)
        v = self.entity[None] if entities is None else self.entity[entities]      # (1, N, d) or (B, k, d)
        return self.gamma - self.distance(v, c[:, None, :], o[:, None, :])


def negative_sampling_loss(pos_logits: torch.Tensor, neg_logits: torch.Tensor) -> torch.Tensor:
    """pos (B,), neg (B, k): −log σ(pos) − mean_j log σ(−neg_j)."""
    return (-nn.functional.logsigmoid(pos_logits) - nn.functional.logsigmoid(-neg_logits).mean(-1)).mean()
