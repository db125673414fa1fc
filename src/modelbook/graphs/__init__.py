"""Graph neural networks from scratch: GCN, GAT, GraphSAGE with neighbour sampling, residual blocks.

    from modelbook.graphs import GCN, GAT, DeepGCN, NeighborSampler, normalized_adjacency

Each mechanism is cross-checked against torch_geometric in tests/graphs/ (same weights, same inputs).
"""
from modelbook.graphs.blocks import DeepGCN, ResidualGCNBlock, dirichlet_energy_ratio, mean_cosine_similarity, propagate_k
from modelbook.graphs.gat import GAT, GATLayer, segment_softmax
from modelbook.graphs.gcn import (
    GCN,
    MLP,
    Adjacency,
    GCNLayer,
    add_self_loops,
    gcn_norm,
    inverted_dropout,
    normalized_adjacency,
    propagate,
)
from modelbook.graphs.sampling import CSR, SAGE, Block, NeighborSampler, SAGELayer, csr_from_edge_index

__all__ = [
    "CSR", "Adjacency", "GAT", "GCN", "MLP", "SAGE", "Block", "DeepGCN", "GATLayer", "GCNLayer", "NeighborSampler",
    "ResidualGCNBlock", "SAGELayer", "add_self_loops", "csr_from_edge_index", "dirichlet_energy_ratio", "gcn_norm", "inverted_dropout",
    "mean_cosine_similarity", "normalized_adjacency", "propagate", "propagate_k", "segment_softmax",
]
