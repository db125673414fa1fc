"""GNN encoders for knowledge graphs: R-GCN and a relation-aware GAT, each with a DistMult decoder.

The encoder turns the TRAINING graph into entity embeddings by message passing; the decoder scores triples
from them (Schlichtkrull et al., ESWC 2018: "R-GCN encoder + DistMult decoder"). Every triple (h, r, t) gives
two directed edges, h → t with relation r and t → h with r⁻¹ (relation r + R), plus a self-connection.

R-GCN layer, with basis decomposition W_r = Σ_b a_rb V_b (B shared bases keep 2R relation matrices cheap):
    h_i' = ReLU( W_0 h_i + Σ_r Σ_{j ∈ N_r(i)} (1 / |N_r(i)|) W_r h_j )

Relation-aware GAT layer (the attention of Veličković et al. with the relation in the message, as in
KBGAT, Nathani et al. 2019):
    m_ij = W_m [h_j ‖ e_r],   α_ij = softmax_j LeakyReLU(a · [W_q h_i ‖ m_ij]),   h_i' = ELU(W_0 h_i + Σ_j α_ij m_ij)
per head, heads concatenated.

Edge dropout in training (Schlichtkrull et al. use it too): the encoder must not simply read the answer edge
(h, r, t) it is being trained to predict; dropping a share of edges each step forces it to use the rest.

Cross-check: tests/kge/test_gnn.py (the R-GCN layer equals a dense per-relation computation; the GAT
encoder's attention sums to one over each node's incoming edges; permuting entity ids permutes the output).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from modelbook.graphs.gat import segment_softmax
from modelbook.kge.models import KGEModel


def relational_edges(train: np.ndarray, n_relations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """((2, 2n) source/target, (2n,) relation ids): each triple forwards (r) and backwards (r + R)."""
    t = torch.from_numpy(train)
    h, r, o = t.unbind(1)
    return torch.stack([torch.cat([h, o]), torch.cat([o, h])]), torch.cat([r, r + n_relations])


class RGCNLayer(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, n_edge_types: int, n_bases: int):
        super().__init__()
        self.bases = nn.Parameter(torch.empty(n_bases, dim_in, dim_out))               # V_b
        self.coeff = nn.Parameter(torch.empty(n_edge_types, n_bases))                 # a_rb
        self.self_loop = nn.Linear(dim_in, dim_out)                                    # W_0 (with bias)
        nn.init.xavier_uniform_(self.bases)
        nn.init.xavier_uniform_(self.coeff)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor) -> torch.Tensor:
        N = x.size(0)
        src, dst = edge_index
        xv = torch.einsum("nd,bde->nbe", x, self.bases)                                # (N, B, d_out): h_j V_b
        msg = torch.einsum("eb,ebd->ed", self.coeff[edge_type], xv[src])              # (E, d_out): W_r h_j
        # 1/|N_r(i)|: count the edges of each (target, relation) pair
        key = dst * self.coeff.size(0) + edge_type
        count = torch.zeros(N * self.coeff.size(0), dtype=x.dtype).index_add_(0, key, torch.ones_like(key, dtype=x.dtype))
        msg = msg / count[key][:, None]
        agg = torch.zeros(N, msg.size(1), dtype=x.dtype).index_add_(0, dst, msg)
        return self.self_loop(x) + agg


class RelationalGATLayer(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, n_edge_types: int, heads: int = 4, negative_slope: float = 0.2):
        super().__init__()
        if dim_out % heads:
            raise ValueError(f"dim_out {dim_out} must be divisible by heads {heads}")
        self.heads, self.c = heads, dim_out // heads
        self.rel = nn.Embedding(n_edge_types, dim_in)
        self.w_msg = nn.Linear(2 * dim_in, dim_out, bias=False)
        self.w_query = nn.Linear(dim_in, dim_out, bias=False)
        self.att = nn.Parameter(torch.empty(1, heads, 2 * self.c))
        self.self_loop = nn.Linear(dim_in, dim_out)
        self.negative_slope = negative_slope
        nn.init.xavier_uniform_(self.att)
        nn.init.xavier_uniform_(self.rel.weight)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor, return_attention: bool = False):
        N, H, C = x.size(0), self.heads, self.c
        src, dst = edge_index
        m = self.w_msg(torch.cat([x[src], self.rel(edge_type)], -1)).view(-1, H, C)    # (E, H, C)
        q = self.w_query(x).view(N, H, C)[dst]                                          # (E, H, C)
        e = nn.functional.leaky_relu((torch.cat([q, m], -1) * self.att).sum(-1), self.negative_slope)   # (E, H)
        alpha = segment_softmax(e, dst, N)
        out = torch.zeros(N, H, C, dtype=x.dtype).index_add_(0, dst, alpha[:, :, None] * m).reshape(N, H * C)
        out = self.self_loop(x) + out
        return (out, alpha) if return_attention else out


class GraphEncoderDistMult(KGEModel):
    """Entity embeddings → `n_layers` encoder layers over the training graph → DistMult scores."""

    def __init__(self, train: np.ndarray, n_entities: int, n_relations: int, dim: int, encoder: str = "rgcn",
                 n_layers: int = 2, n_bases: int = 4, heads: int = 4, edge_dropout: float = 0.2, dropout: float = 0.2):
        super().__init__()
        self.n_entities, self.n_relations = n_entities, n_relations
        self.edge_dropout, self.dropout, self.kind = edge_dropout, dropout, encoder
        edge_index, edge_type = relational_edges(train, n_relations)
        self.register_buffer("edge_index", edge_index)
        self.register_buffer("edge_type", edge_type)
        self.entity = nn.Embedding(n_entities, dim)
        nn.init.xavier_uniform_(self.entity.weight)
        if encoder == "rgcn":
            self.layers = nn.ModuleList(RGCNLayer(dim, dim, 2 * n_relations, n_bases) for _ in range(n_layers))
        elif encoder == "gat":
            self.layers = nn.ModuleList(RelationalGATLayer(dim, dim, 2 * n_relations, heads) for _ in range(n_layers))
        else:
            raise ValueError(f"unknown encoder {encoder!r}: use 'rgcn' or 'gat'")
        self.relation = nn.Embedding(n_relations, dim)                                  # the DistMult decoder's diag(R_r)
        nn.init.xavier_uniform_(self.relation.weight)
        self._cache: torch.Tensor | None = None

    def encode(self) -> torch.Tensor:
        """(N, d) entity embeddings from the training graph (cached in eval mode)."""
        if not self.training and self._cache is not None:
            return self._cache
        ei, et = self.edge_index, self.edge_type
        if self.training and self.edge_dropout > 0:
            keep = torch.rand(et.numel()) >= self.edge_dropout
            ei, et = ei[:, keep], et[keep]
        x = self.entity.weight
        for i, layer in enumerate(self.layers):
            x = layer(nn.functional.dropout(x, self.dropout, self.training), ei, et)
            if i < len(self.layers) - 1:
                x = torch.relu(x) if self.kind == "rgcn" else nn.functional.elu(x)
        if not self.training:
            self._cache = x.detach()
        return x

    def train(self, mode: bool = True):
        self._cache = None
        return super().train(mode)

    def score_t(self, h, r):
        z = self.encode()
        return (z[h] * self.relation(r)) @ z.T

    def score_h(self, r, t):
        z = self.encode()
        return (self.relation(r) * z[t]) @ z.T
