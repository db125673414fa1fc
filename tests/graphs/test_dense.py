"""The dense GCN and GAT formulas equal a loop over each node's neighbours, written from the papers' equations."""
import math

import torch

from modelbook.graphs import GATLayer, GCNLayer
from modelbook.graphs.dense import dense_adjacency, dense_gat, dense_gcn
from tests.graphs.test_gcn import karate_edge_index


def _neighbours(ei: torch.Tensor, n: int) -> list[list[int]]:
    """In-neighbours of each node, itself included (the self-loop)."""
    nbrs = [{i} for i in range(n)]
    for j, i in ei.T.tolist():
        nbrs[i].add(j)
    return [sorted(s) for s in nbrs]


def _inputs():
    g = torch.Generator().manual_seed(0)
    ei = karate_edge_index()
    return ei, torch.randn(34, 7, generator=g, dtype=torch.float64)


def test_dense_adjacency_rows_are_messages_into_the_node():
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])                       # 0 → 1, 1 → 2, 2 → 0
    A = dense_adjacency(ei, 3)
    assert A[1, 0] == 1 and A[2, 1] == 1 and A[0, 2] == 1 and A.sum() == 3


def test_dense_gcn_equals_the_per_node_sum():
    ei, x = _inputs()
    layer = GCNLayer(7, 5).double()
    torch.nn.init.normal_(layer.bias)
    nbrs = _neighbours(ei, 34)
    h = x @ layer.linear.weight.T
    want = torch.stack([sum(h[j] / math.sqrt(len(nbrs[i]) * len(nbrs[j])) for j in nbrs[i]) for i in range(34)]) + layer.bias
    torch.testing.assert_close(dense_gcn(x, dense_adjacency(ei, 34), layer), want, rtol=1e-12, atol=1e-12)


def test_dense_gat_equals_the_per_node_softmax():
    ei, x = _inputs()
    layer = GATLayer(7, 4, heads=3).double()
    torch.nn.init.normal_(layer.bias)
    nbrs = _neighbours(ei, 34)
    z = (x @ layer.linear.weight.T).view(34, 3, 4)
    rows = []
    for i in range(34):
        heads = []
        for k in range(3):
            e = torch.stack([torch.nn.functional.leaky_relu(layer.att_dst[0, k] @ z[i, k] + layer.att_src[0, k] @ z[j, k], 0.2)
                             for j in nbrs[i]])
            alpha = e.exp() / e.exp().sum()
            heads.append(sum(a * z[j, k] for a, j in zip(alpha, nbrs[i])))
        rows.append(torch.cat(heads))
    want = torch.stack(rows) + layer.bias
    torch.testing.assert_close(dense_gat(x, dense_adjacency(ei, 34), layer), want, rtol=1e-12, atol=1e-12)
