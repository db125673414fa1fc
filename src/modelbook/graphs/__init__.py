"""Graph neural networks from scratch: GCN, GAT, GraphSAGE with neighbour sampling, residual blocks.

    from modelbook.graphs import GCN, GAT, DeepGCN, NeighborSampler, normalized_adjacency

Each mechanism is cross-checked against torch_geometric in tests/graphs/ (same weights, same inputs).
Not re-exported here: dense.py (the layers' formulas with dense matrices), mincut.py (Zachary's min-cut split),
node_task.py (WordNet node classification), pyg.py (loading PyG weights into ours), train.py (training loops).
"""
from modelbook.graphs.blocks import (
    DeepGCN,
    ResidualGCNBlock,
    dirichlet_energy_ratio,
    mean_cosine_similarity,
    propagate_k,
    propagation_cosine_curve,
)
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
    "mean_cosine_similarity", "normalized_adjacency", "propagate", "propagate_k", "propagation_cosine_curve", "segment_softmax",
]
