"""After copy_from_pyg, our GCN, GAT and SAGE layers compute what PyG's do on the same inputs (float64)."""
import pytest
import torch

from modelbook.graphs import GATLayer, GCNLayer, SAGELayer, normalized_adjacency
from modelbook.graphs.pyg import copy_from_pyg
from tests.graphs.test_gcn import karate_edge_index


def test_copied_layers_equal_pyg():
    from torch_geometric.nn import GATConv, GCNConv, SAGEConv

    g = torch.Generator().manual_seed(0)
    ei = karate_edge_index()
    x = torch.randn(34, 6, generator=g, dtype=torch.float64)
    pairs = [(GCNConv(6, 4), GCNLayer(6, 4), lambda m: m(x, normalized_adjacency(ei, 34, torch.float64))),
             (GATConv(6, 3, heads=2), GATLayer(6, 3, heads=2), lambda m: m(x, ei)),
             (SAGEConv(6, 4), SAGELayer(6, 4), lambda m: m(x, ei, 34))]
    for ref, ours, forward in pairs:
        ref, ours = ref.double(), ours.double()
        with torch.no_grad():
            ref.lin_l.bias.normal_(generator=g) if isinstance(ref, SAGEConv) else ref.bias.normal_(generator=g)
        assert not torch.allclose(forward(ours), ref(x, ei))                # different weights before the copy
        copy_from_pyg(ours, ref)
        torch.testing.assert_close(forward(ours), ref(x, ei), rtol=1e-12, atol=1e-12)


def test_unknown_layer_is_refused():
    with pytest.raises(TypeError):
        copy_from_pyg(torch.nn.Linear(2, 2), None)
