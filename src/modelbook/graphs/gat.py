"""Graph attention (Veličković et al., ICLR 2018), from scratch: multi-head attention over each node's neighbours.

For head k, with z_j = W^k h_j:

    e_ij   = LeakyReLU_0.2( a_srcᵏ·z_j + a_dstᵏ·z_i )          one logit per edge j → i (self-loop included)
    α_ij   = softmax over the neighbours j of i of e_ij          (a segment softmax over the incoming edges)
    h_i'   = ‖_k Σ_j α_ij^k z_j^k    (heads concatenated)   or   mean_k ...   (the output layer)

Unlike GCN's fixed 1/√(deg_i deg_j), the weights are learned from the features, so a node can listen to the
neighbours that matter. Splitting the paper's a·[Wh_i ‖ Wh_j] into a_dst·Wh_i + a_src·Wh_j is the same number,
computed per node (N·H) instead of per edge. Dropout is applied to the attention coefficients, as in the paper.

Everything is an edge list (E, H) plus `index_add_`, so the cost is O(E·H·C) and no N×N matrix is built.

Where the source article is wrong: its "GAT" layer multiplies by the adjacency and applies a linear layer;
there is no attention score, no softmax over neighbours and no heads, so it is a GCN without normalisation.

Cross-check: tests/graphs/test_gat.py (== torch_geometric GATConv with the same weights: concat and mean heads,
outputs and gradients, float64).
"""
from __future__ import annotations

import torch
from torch import nn

from modelbook.graphs.gcn import add_self_loops, inverted_dropout


def segment_softmax(logits: torch.Tensor, index: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of (E, H) `logits` within each group of rows that share `index` (E,): the neighbours of a node.

    Subtracting each group's max before exp keeps it stable (the same trick as a row softmax)."""
    H = logits.size(1)
    group_max = torch.full((n_segments, H), float("-inf"), dtype=logits.dtype, device=logits.device)
    group_max = group_max.scatter_reduce(0, index[:, None].expand(-1, H), logits, reduce="amax", include_self=True)
    exp = (logits - group_max[index]).exp()
    denom = torch.zeros(n_segments, H, dtype=logits.dtype, device=logits.device).index_add_(0, index, exp)
    return exp / denom[index]


class GATLayer(nn.Module):
    """Parameters named as in PyG's GATConv: linear (W, all heads stacked), att_src, att_dst (1, H, C), bias."""

    def __init__(self, in_features: int, out_features: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.negative_slope, self.dropout = negative_slope, dropout
        self.linear = nn.Linear(in_features, heads * out_features, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_features))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_features))
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features)) if bias else None
        for p in (self.linear.weight, self.att_src, self.att_dst):
            nn.init.xavier_uniform_(p)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, return_attention: bool = False):
        """x (N, F), edge_index (2, E) sources→targets; self-loops are added here. Returns (N, H·C) or (N, C)."""
        N, H, C = x.size(0), self.heads, self.out_features
        src, dst = add_self_loops(edge_index, N)
        z = self.linear(x).view(N, H, C)                               # (N, H, C)
        score_src = (z * self.att_src).sum(-1)                         # (N, H): a_src · z_j
        score_dst = (z * self.att_dst).sum(-1)                         # (N, H): a_dst · z_i
        e = nn.functional.leaky_relu(score_src[src] + score_dst[dst], self.negative_slope)   # (E, H)
        alpha = segment_softmax(e, dst, N)                             # (E, H), sums to 1 over each i's neighbours
        alpha_dropped = inverted_dropout(alpha, self.dropout, self.training)
        out = torch.zeros(N, H, C, dtype=z.dtype, device=z.device)
        out.index_add_(0, dst, alpha_dropped[:, :, None] * z[src])     # (N, H, C): Σ_j α_ij z_j
        out = out.reshape(N, H * C) if self.concat else out.mean(1)
        if self.bias is not None:
            out = out + self.bias
        return (out, (torch.stack([src, dst]), alpha)) if return_attention else out


class GAT(nn.Module):
    """The paper's transductive model: a multi-head hidden layer with ELU (heads concatenated), then an output
    layer that averages its heads; dropout on inputs and on attention."""

    def __init__(self, in_features: int, hidden: int, n_classes: int, heads: int = 8, out_heads: int = 1,
                 dropout: float = 0.6):
        super().__init__()
        self.dropout = dropout
        self.hidden = GATLayer(in_features, hidden, heads=heads, concat=True, dropout=dropout)
        self.out = GATLayer(hidden * heads, n_classes, heads=out_heads, concat=False, dropout=dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = inverted_dropout(x, self.dropout, self.training)
        x = nn.functional.elu(self.hidden(x, edge_index))
        x = inverted_dropout(x, self.dropout, self.training)
        return self.out(x, edge_index)
