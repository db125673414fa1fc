"""Graph convolution (Kipf & Welling, ICLR 2017), from scratch.

One GCN layer:

    H' = D̂^{-1/2} Â D̂^{-1/2} H W + b,      Â = A + I,   D̂_ii = Σ_j Â_ij

Each node averages its neighbours' transformed features and its own (the self-loop), each message weighted by
1/√(deg_i · deg_j): a high-degree hub neither drowns its neighbours nor is drowned by them. The normalised
adjacency is built once per graph as a sparse matrix, so a layer is one dense matmul and one sparse matmul:
O(E·F) work, never the dense N×N matrix.

Edge convention (PyG's "source_to_target"): edge_index[0] are sources j, edge_index[1] targets i, and the
degree is counted at the target. For an undirected graph pass both directions.

Where the source article is wrong: its "GCN" multiplies by the raw adjacency with no self-loops, no
normalisation and no non-linearity between the two linear maps, so two layers collapse into one linear map
and node features scale with the degree. It also names "graph convolution blocks (GCB)" and "graph attention
blocks (GAB)" as methods; they are not established terms (residual/normalisation blocks are in blocks.py).

Cross-check: tests/graphs/test_gcn.py (our layer == torch_geometric GCNConv with the same weights, outputs
and gradients, float64).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn


def add_self_loops(edge_index: torch.Tensor, n_nodes: int) -> torch.Tensor:
    """(2, E) -> (2, E') with existing self-loops removed and exactly one loop (i, i) per node appended."""
    keep = edge_index[0] != edge_index[1]
    loops = torch.arange(n_nodes, device=edge_index.device).repeat(2, 1)
    return torch.cat([edge_index[:, keep], loops], dim=1)


def gcn_norm(edge_index: torch.Tensor, n_nodes: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Self-loops added and symmetric weights 1/√(deg_j deg_i) per edge j → i: ((2, E'), (E',))."""
    ei = add_self_loops(edge_index, n_nodes)
    src, dst = ei
    deg = torch.zeros(n_nodes, dtype=dtype, device=ei.device).index_add_(0, dst, torch.ones(dst.numel(), dtype=dtype))
    inv_sqrt = deg.pow(-0.5)
    inv_sqrt[torch.isinf(inv_sqrt)] = 0.0
    return ei, inv_sqrt[src] * inv_sqrt[dst]


class _SparseMatmul(torch.autograd.Function):
    """A @ H for a constant sparse A, with the gradient Aᵀ @ dL/d(AH) taken from a stored Aᵀ: left to itself,
    torch transposes and re-sorts A on every backward, which was 60% of a deep GCN's step (profiled)."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, a_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        ctx.a_t = a_t
        return torch.sparse.mm(a, h)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return None, None, torch.sparse.mm(ctx.a_t, grad)


@dataclass(frozen=True)
class Adjacency:
    """A fixed sparse (N, N) propagation matrix (CSR) and its transpose; `adj @ h` is differentiable in h."""
    matrix: torch.Tensor
    transpose: torch.Tensor

    @property
    def n_nodes(self) -> int:
        return self.matrix.size(0)

    def __matmul__(self, h: torch.Tensor) -> torch.Tensor:
        return _SparseMatmul.apply(self.matrix, self.transpose, h)

    def to_dense(self) -> torch.Tensor:
        return self.matrix.to_dense()


def _csr(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n, n), check_invariants=False).coalesce()
    with warnings.catch_warnings():  # "sparse CSR support is in beta": CSR @ dense is ~1.5x faster than COO here
        warnings.simplefilter("ignore", UserWarning)
        return coo.to_sparse_csr()


def normalized_adjacency(edge_index: torch.Tensor, n_nodes: int, dtype=torch.float32) -> Adjacency:
    """D̂^{-1/2} Â D̂^{-1/2} as a sparse (N, N) matrix; row i holds the weights of the messages into node i."""
    ei, w = gcn_norm(edge_index, n_nodes, dtype)
    return Adjacency(_csr(ei[1], ei[0], w, n_nodes), _csr(ei[0], ei[1], w, n_nodes))


def propagate(adj: Adjacency | torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Â_norm @ H for a sparse Adjacency (or a dense (N, N) tensor) and dense (N, F) features."""
    return adj @ h


def inverted_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout, the same distribution as F.dropout: keep each entry with probability 1 − p, scale by
    1/(1 − p). Written out because torch's CPU bernoulli_ sampler is ~4x slower than uniform sampling + a
    comparison here, and dropout on (N, F) node features dominated small-graph epochs (measured in the lab)."""
    if not training or p == 0.0:
        return x
    return x * (torch.rand_like(x) >= p) / (1.0 - p)


class GCNLayer(nn.Module):
    """H' = Â_norm (H W) + b. `linear` holds W (no bias, as in PyG's GCNConv.lin), `bias` holds b."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.xavier_uniform_(self.linear.weight)

    def forward(self, x: torch.Tensor, adj: Adjacency) -> torch.Tensor:
        out = propagate(adj, self.linear(x))  # (N, F_out): transform first, it is cheaper when F_out < F_in
        return out + self.bias if self.bias is not None else out


class GCN(nn.Module):
    """Kipf & Welling's model: GCN layers with ReLU and dropout between them; logits out (softmax in the loss)."""

    def __init__(self, in_features: int, hidden: int, n_classes: int, n_layers: int = 2, dropout: float = 0.5):
        super().__init__()
        dims = [in_features] + [hidden] * (n_layers - 1) + [n_classes]
        self.layers = nn.ModuleList(GCNLayer(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adj: Adjacency) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = inverted_dropout(x, self.dropout, self.training)
            x = layer(x, adj)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class MLP(nn.Module):
    """The same network without the graph (adjacency = identity): the baseline that isolates what edges add."""

    def __init__(self, in_features: int, hidden: int, n_classes: int, n_layers: int = 2, dropout: float = 0.5):
        super().__init__()
        dims = [in_features] + [hidden] * (n_layers - 1) + [n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adj: Adjacency | None = None) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(inverted_dropout(x, self.dropout, self.training))
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x
