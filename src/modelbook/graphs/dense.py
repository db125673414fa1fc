"""The GCN and GAT layers' formulas evaluated with dense N×N matrices: the reference the sparse layers must equal.

    GCN (Kipf & Welling 2017, eq. 2)   H' = D̂^{-1/2} (A + I) D̂^{-1/2} X Wᵀ + b,  D̂_ii = Σ_j (A + I)_ij
    GAT (Veličković et al. 2018)       z_i = W x_i split into H heads;  e_ij = LeakyReLU(a_dstᵀ z_i + a_srcᵀ z_j)
                                       α_ij = softmax over j with (A + I)_ij = 1;  h_i' = ‖_heads Σ_j α_ij z_j + b

O(N²) memory, so only for small graphs (the karate club): written as a reader would write the paper's equations,
with nothing shared with gcn.py / gat.py beyond the layers' parameters.

Cross-check: tests/graphs/test_dense.py (both equal a loop over each node's neighbours).
"""
from __future__ import annotations

import torch

from modelbook.graphs.gat import GATLayer
from modelbook.graphs.gcn import GCNLayer


def dense_adjacency(edge_index: torch.Tensor, n_nodes: int, dtype=torch.float64) -> torch.Tensor:
    """(N, N) with A[i, j] = 1 for every edge j → i (row i: the messages into i); no self-loops added."""
    A = torch.zeros(n_nodes, n_nodes, dtype=dtype)
    A[edge_index[1], edge_index[0]] = 1.0
    return A


def dense_gcn(x: torch.Tensor, A: torch.Tensor, layer: GCNLayer) -> torch.Tensor:
    """D̂^{-1/2} (A + I) D̂^{-1/2} X Wᵀ + b with the layer's W and b; A (N, N) without self-loops."""
    A_hat = A + torch.eye(len(A), dtype=A.dtype)
    d = A_hat.sum(1).pow(-0.5)
    return d[:, None] * A_hat * d[None, :] @ (x @ layer.linear.weight.T) + layer.bias


def dense_gat(x: torch.Tensor, A: torch.Tensor, layer: GATLayer) -> torch.Tensor:
    """Masked multi-head softmax attention with the layer's parameters, heads concatenated: (N, H·C)."""
    if not layer.concat:
        raise ValueError("dense_gat writes out the concatenating layer (concat=True)")
    N, H, C = len(x), layer.heads, layer.out_features
    A_hat = A + torch.eye(N, dtype=A.dtype)
    z = (x @ layer.linear.weight.T).view(N, H, C)
    logits = (z * layer.att_dst).sum(-1).T[:, :, None] + (z * layer.att_src).sum(-1).T[:, None, :]   # (H, i, j)
    logits = torch.nn.functional.leaky_relu(logits, layer.negative_slope).masked_fill(A_hat[None] == 0, float("-inf"))
    return (logits.softmax(-1) @ z.transpose(0, 1)).transpose(0, 1).reshape(N, H * C) + layer.bias
