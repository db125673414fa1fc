"""Knowledge-graph embedding models, from scratch: a score f(h, r, t) for every triple, higher = more plausible.

Every model answers the two link-prediction questions for a whole batch at once, against all N entities:
    score_t(h, r) -> (B, N)   "(h, r, ?)"      score_h(r, t) -> (B, N)   "(?, r, t)"

    RESCAL    (Nickel 2011)     f = hᵀ M_r t                          a full d×d matrix per relation
    DistMult  (Yang 2015)       f = Σ h ∘ r ∘ t                       diagonal M_r: symmetric by construction
    ComplEx   (Trouillon 2016)  f = Re Σ h ∘ r ∘ conj(t)              complex: asymmetric relations too
    TransE    (Bordes 2013)     f = −‖h + r − t‖_p                    a relation is a translation
    RotatE    (Sun 2019)        f = −Σ_i |h_i r_i − t_i|,  |r_i| = 1  a relation is a rotation in ℂ:
                                                                      symmetry, inversion and composition
    ConvE     (Dettmers 2018)   f = ReLU(vec(ReLU([h̄; r̄] ∗ ω)) W) · t + b_t    2-D convolution over reshaped
                                                                      h and r; needs reciprocal relations for
                                                                      heads: (?, r, t) is scored as (t, r⁻¹, ?)

The first three are "matrix factorisation" of the (R, N, N) adjacency tensor (the source article's first
family); TransE/RotatE are distance models; ConvE is the "deep" family. GNN encoders are in gnn.py.

Where the source article is wrong: it lists "Transformer, LSTM" as the deep KG-embedding family and gives a
"GAT" whose layer has no attention; the deep models that defined the small-benchmark numbers are ConvE-style
convolutions, and attention over a KG needs relation-aware messages (gnn.py).

Cross-check: tests/kge/test_models.py (closed forms on hand-made embeddings; score_t/score_h agree with the
per-triple formula; our TransE/DistMult/ComplEx/RotatE scores equal PyKEEN's interaction functions with the
same embeddings).
"""
from __future__ import annotations

import math

import torch
from torch import nn


class KGEModel(nn.Module):
    n_entities: int
    n_relations: int

    def score_t(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must score every tail for (h, r): define score_t")

    def score_h(self, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must score every head for (r, t): define score_h")

    def score_hrt(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(B,) scores of given triples (through score_t: every KG here has N ≤ a few hundred)."""
        return self.score_t(h, r).gather(1, t[:, None]).squeeze(1)


def _embedding(n: int, d: int, scale: float | None = None) -> nn.Embedding:
    e = nn.Embedding(n, d)
    nn.init.uniform_(e.weight, -scale, scale) if scale else nn.init.xavier_uniform_(e.weight)
    return e


class DistMult(KGEModel):
    def __init__(self, n_entities: int, n_relations: int, dim: int):
        super().__init__()
        self.n_entities, self.n_relations = n_entities, n_relations
        self.entity, self.relation = _embedding(n_entities, dim), _embedding(n_relations, dim)

    def score_t(self, h, r):
        return (self.entity(h) * self.relation(r)) @ self.entity.weight.T          # (B, d) @ (d, N)

    def score_h(self, r, t):
        return (self.relation(r) * self.entity(t)) @ self.entity.weight.T


class RESCAL(KGEModel):
    def __init__(self, n_entities: int, n_relations: int, dim: int):
        super().__init__()
        self.n_entities, self.n_relations, self.dim = n_entities, n_relations, dim
        self.entity = _embedding(n_entities, dim)
        self.relation = _embedding(n_relations, dim * dim)                          # M_r flattened

    def _m(self, r):
        return self.relation(r).view(-1, self.dim, self.dim)                        # (B, d, d)

    def score_t(self, h, r):
        return torch.einsum("bi,bij->bj", self.entity(h), self._m(r)) @ self.entity.weight.T

    def score_h(self, r, t):
        return torch.einsum("bij,bj->bi", self._m(r), self.entity(t)) @ self.entity.weight.T


class ComplEx(KGEModel):
    """Embeddings stored as [real | imaginary] halves of a 2d-dim real vector."""

    def __init__(self, n_entities: int, n_relations: int, dim: int):
        super().__init__()
        self.n_entities, self.n_relations, self.dim = n_entities, n_relations, dim
        self.entity, self.relation = _embedding(n_entities, 2 * dim), _embedding(n_relations, 2 * dim)

    def _split(self, x):
        return x[..., :self.dim], x[..., self.dim:]

    def score_t(self, h, r):
        (h_re, h_im), (r_re, r_im) = self._split(self.entity(h)), self._split(self.relation(r))
        q = torch.cat([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], -1)   # h∘r; Re(q·conj(t)) = q·t
        return q @ self.entity.weight.T

    def score_h(self, r, t):
        (r_re, r_im), (t_re, t_im) = self._split(self.relation(r)), self._split(self.entity(t))
        p_re, p_im = r_re * t_re + r_im * t_im, r_im * t_re - r_re * t_im          # p = r∘conj(t)
        return torch.cat([p_re, -p_im], -1) @ self.entity.weight.T                  # Re(h·p)


class TransE(KGEModel):
    def __init__(self, n_entities: int, n_relations: int, dim: int, p: int = 1):
        super().__init__()
        self.n_entities, self.n_relations, self.p = n_entities, n_relations, p
        self.entity, self.relation = _embedding(n_entities, dim), _embedding(n_relations, dim)

    def score_t(self, h, r):
        return -torch.cdist(self.entity(h) + self.relation(r), self.entity.weight, p=self.p)

    def score_h(self, r, t):
        return -torch.cdist(self.entity(t) - self.relation(r), self.entity.weight, p=self.p)   # ‖h − (t − r)‖


class RotatE(KGEModel):
    """Entities in ℂ^d ([real | imaginary]); relations are phases θ, r = e^{iθ} (unit modulus by construction)."""

    def __init__(self, n_entities: int, n_relations: int, dim: int):
        super().__init__()
        self.n_entities, self.n_relations, self.dim = n_entities, n_relations, dim
        self.entity = _embedding(n_entities, 2 * dim)
        self.phase = _embedding(n_relations, dim, scale=math.pi)

    def _distance_to_all(self, q_re, q_im):
        e_re, e_im = self.entity.weight[:, :self.dim], self.entity.weight[:, self.dim:]          # (N, d)
        diff_re, diff_im = q_re[:, None, :] - e_re[None], q_im[:, None, :] - e_im[None]          # (B, N, d)
        return torch.sqrt(diff_re ** 2 + diff_im ** 2 + 1e-12).sum(-1)                         # Σ_i |·|, (B, N)

    def score_t(self, h, r):
        e, th = self.entity(h), self.phase(r)
        h_re, h_im, c, s = e[:, :self.dim], e[:, self.dim:], torch.cos(th), torch.sin(th)
        return -self._distance_to_all(h_re * c - h_im * s, h_re * s + h_im * c)                # h∘r vs all t

    def score_h(self, r, t):
        e, th = self.entity(t), self.phase(r)
        t_re, t_im, c, s = e[:, :self.dim], e[:, self.dim:], torch.cos(th), torch.sin(th)
        return -self._distance_to_all(t_re * c + t_im * s, t_im * c - t_re * s)                # |h∘r − t| = |h − t∘conj(r)|


class ConvE(KGEModel):
    """Dettmers et al. 2018: h and r reshaped to (height, width) images, stacked, one 3×3 convolution with 32
    filters, a projection back to d, then a dot product with every entity plus an entity bias. Relations are
    doubled (r and r⁻¹) so that head prediction is tail prediction with the reciprocal relation."""

    def __init__(self, n_entities: int, n_relations: int, dim: int = 200, height: int = 10, channels: int = 32,
                 input_dropout: float = 0.2, feature_dropout: float = 0.2, hidden_dropout: float = 0.3):
        super().__init__()
        if dim % height:
            raise ValueError(f"ConvE: dim {dim} must be divisible by the image height {height}")
        self.n_entities, self.n_relations = n_entities, n_relations
        self.height, self.width = height, dim // height
        self.entity = _embedding(n_entities, dim)
        self.relation = _embedding(2 * n_relations, dim)                            # r and its reciprocal r + R
        self.conv = nn.Conv2d(1, channels, 3)
        self.bn0, self.bn1, self.bn2 = nn.BatchNorm2d(1), nn.BatchNorm2d(channels), nn.BatchNorm1d(dim)
        self.fc = nn.Linear(channels * (2 * height - 2) * (self.width - 2), dim)
        self.drop_in, self.drop_feat = nn.Dropout(input_dropout), nn.Dropout2d(feature_dropout)
        self.drop_hidden = nn.Dropout(hidden_dropout)
        self.bias = nn.Parameter(torch.zeros(n_entities))

    def score_t(self, h, r):
        B = h.size(0)
        img = torch.cat([self.entity(h).view(B, 1, self.height, self.width),
                         self.relation(r).view(B, 1, self.height, self.width)], dim=2)           # (B, 1, 2h, w)
        x = self.drop_in(self.bn0(img))
        x = self.drop_feat(torch.relu(self.bn1(self.conv(x))))                                 # (B, C, 2h-2, w-2)
        x = torch.relu(self.bn2(self.drop_hidden(self.fc(x.flatten(1)))))                      # (B, d)
        return x @ self.entity.weight.T + self.bias

    def score_h(self, r, t):
        return self.score_t(t, r + self.n_relations)


class Reciprocal(KGEModel):
    """Any model trained with reciprocal relations (Lacroix et al. 2018; ConvE does it by default): the inner
    model has 2R relations and head prediction (?, r, t) is answered as tail prediction (t, r + R, ?). Then
    TransE, for instance, gets one translation per direction and can fit symmetric and N-to-N relations."""

    def __init__(self, inner: KGEModel):
        super().__init__()
        if inner.n_relations % 2:
            raise ValueError("a Reciprocal model's inner model must have 2R relations")
        self.inner = inner
        self.n_entities, self.n_relations = inner.n_entities, inner.n_relations // 2

    def score_t(self, h, r):
        return self.inner.score_t(h, r)

    def score_h(self, r, t):
        return self.inner.score_t(t, r + self.n_relations)


def build(name: str, n_entities: int, n_relations: int, dim: int, reciprocal: bool = False, **kwargs) -> KGEModel:
    """A model by name ("transe", ...); reciprocal=True wraps it (ConvE is always reciprocal)."""
    cls = MODELS[name]
    if cls is ConvE or not reciprocal:
        return cls(n_entities, n_relations, dim, **kwargs)
    return Reciprocal(cls(n_entities, 2 * n_relations, dim, **kwargs))


MODELS = {"rescal": RESCAL, "distmult": DistMult, "complex": ComplEx, "transe": TransE, "rotate": RotatE, "conve": ConvE}
