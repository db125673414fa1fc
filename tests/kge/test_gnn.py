"""R-GCN and relational GAT layers."""
import numpy as np
import torch

from modelbook.graphs.gat import segment_softmax  # noqa: F401  (the GAT encoder reuses it)
from modelbook.kge import RelationalGATLayer, RGCNLayer, relational_edges


def test_rgcn_layer_equals_a_dense_per_relation_computation():
    torch.manual_seed(0)
    train = np.array([[0, 0, 1], [2, 0, 1], [1, 1, 3], [3, 1, 0]])
    N, R, d = 4, 2, 5
    ei, et = relational_edges(train, R)
    layer = RGCNLayer(d, 3, 2 * R, n_bases=2).double()
    x = torch.randn(N, d, dtype=torch.float64)
    W = torch.einsum("rb,bio->rio", layer.coeff, layer.bases)                       # W_r from the bases
    want = layer.self_loop(x)
    for rel in range(2 * R):
        A = torch.zeros(N, N, dtype=torch.float64)
        sel = et == rel
        A[ei[1, sel], ei[0, sel]] = 1.0
        c = A.sum(1, keepdim=True).clamp_min(1)
        want = want + (A / c) @ x @ W[rel]
    torch.testing.assert_close(layer(x, ei, et), want)


def test_relational_edges_add_reverse_relations():
    ei, et = relational_edges(np.array([[0, 1, 2]]), 3)
    assert ei.tolist() == [[0, 2], [2, 0]] and et.tolist() == [1, 4]


def test_gat_attention_sums_to_one_over_incoming_edges():
    torch.manual_seed(0)
    train = np.array([[0, 0, 1], [2, 0, 1], [3, 1, 1], [1, 1, 0]])
    ei, et = relational_edges(train, 2)
    layer = RelationalGATLayer(6, 8, 4, heads=2)
    out, alpha = layer(torch.randn(4, 6), ei, et, return_attention=True)
    sums = torch.zeros(4, 2).index_add_(0, ei[1], alpha)
    has_in = torch.bincount(ei[1], minlength=4) > 0
    torch.testing.assert_close(sums[has_in], torch.ones(int(has_in.sum()), 2))
    assert out.shape == (4, 8)
