"""GCN layer == torch_geometric GCNConv with the same weights (float64, outputs and gradients)."""
import networkx as nx
import pytest
import torch

from modelbook.graphs import GCN, GCNLayer, add_self_loops, gcn_norm, inverted_dropout, normalized_adjacency


def karate_edge_index() -> torch.Tensor:
    e = torch.tensor(list(nx.karate_club_graph().edges()), dtype=torch.long).T
    return torch.cat([e, e.flip(0)], dim=1)


def test_self_loops_replace_existing_ones():
    ei = torch.tensor([[0, 1, 1], [1, 0, 1]])  # includes a loop (1, 1)
    out = add_self_loops(ei, 3)
    loops = out[:, out[0] == out[1]]
    assert sorted(loops[0].tolist()) == [0, 1, 2]                  # exactly one loop per node
    assert out.size(1) == 2 + 3


def test_normalized_adjacency_is_symmetric_with_unit_top_eigenvalue():
    ei = karate_edge_index()
    a = normalized_adjacency(ei, 34, torch.float64).to_dense()
    torch.testing.assert_close(a, a.T)
    assert torch.linalg.eigvalsh(a).max().item() == pytest.approx(1.0, abs=1e-10)
    _, w = gcn_norm(ei, 34, torch.float64)
    assert (w > 0).all()


@pytest.mark.parametrize("bias", [True, False])
def test_gcn_layer_matches_pyg_outputs_and_gradients(bias):
    from torch_geometric.nn import GCNConv

    g = torch.Generator().manual_seed(0)
    ei = karate_edge_index()
    x = torch.randn(34, 12, generator=g, dtype=torch.float64, requires_grad=True)
    ref = GCNConv(12, 5, bias=bias).double()
    ours = GCNLayer(12, 5, bias=bias).double()
    with torch.no_grad():
        ours.linear.weight.copy_(ref.lin.weight)
        if bias:
            ref.bias.normal_(generator=g)
            ours.bias.copy_(ref.bias)
    got, want = ours(x, normalized_adjacency(ei, 34, torch.float64)), ref(x, ei)
    torch.testing.assert_close(got, want)
    upstream = torch.randn(34, 5, generator=g, dtype=torch.float64)
    gx, gw = torch.autograd.grad((got * upstream).sum(), (x, ours.linear.weight))
    rx, rw = torch.autograd.grad((want * upstream).sum(), (x, ref.lin.weight))
    torch.testing.assert_close(gx, rx)
    torch.testing.assert_close(gw, rw)


def test_gcn_layer_matches_pyg_in_float32_within_1e5():
    from torch_geometric.nn import GCNConv

    ei = karate_edge_index()
    x = torch.randn(34, 64, generator=torch.Generator().manual_seed(1))
    ref, ours = GCNConv(64, 16), GCNLayer(64, 16)
    with torch.no_grad():
        ours.linear.weight.copy_(ref.lin.weight)
        ours.bias.copy_(ref.bias)
    assert (ours(x, normalized_adjacency(ei, 34)) - ref(x, ei)).abs().max() <= 1e-5


def test_inverted_dropout_keeps_the_expectation_and_is_off_in_eval():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = inverted_dropout(x, 0.5, training=True)
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    assert inverted_dropout(x, 0.5, training=False) is x


def test_gcn_model_shapes_and_eval_is_deterministic():
    ei = karate_edge_index()
    model = GCN(34, 16, 2).eval()
    adj = normalized_adjacency(ei, 34)
    x = torch.eye(34)
    out = model(x, adj)
    assert out.shape == (34, 2)
    torch.testing.assert_close(out, model(x, adj))
