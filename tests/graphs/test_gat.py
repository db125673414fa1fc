"""GAT layer == torch_geometric GATConv with the same weights: concat and mean heads, outputs and gradients."""
import pytest
import torch

from modelbook.graphs import GAT, GATLayer, segment_softmax
from tests.graphs.test_gcn import karate_edge_index


def test_segment_softmax_sums_to_one_per_group_and_is_stable():
    logits = torch.tensor([[1000.0], [1001.0], [-5.0], [3.0]])
    index = torch.tensor([0, 0, 1, 1])
    p = segment_softmax(logits, index, 2)
    assert torch.isfinite(p).all()
    sums = torch.zeros(2, 1).index_add_(0, index, p)
    torch.testing.assert_close(sums, torch.ones(2, 1))
    torch.testing.assert_close(p[:2, 0], torch.softmax(torch.tensor([1000.0, 1001.0]), 0))


@pytest.mark.parametrize("concat", [True, False])
def test_gat_layer_matches_pyg(concat):
    from torch_geometric.nn import GATConv

    g = torch.Generator().manual_seed(0)
    ei = karate_edge_index()
    x = torch.randn(34, 10, generator=g, dtype=torch.float64, requires_grad=True)
    ref = GATConv(10, 6, heads=4, concat=concat).double()
    ours = GATLayer(10, 6, heads=4, concat=concat).double()
    with torch.no_grad():
        ref.bias.normal_(generator=g)
        ours.linear.weight.copy_(ref.lin.weight)
        for name in ("att_src", "att_dst", "bias"):
            getattr(ours, name).copy_(getattr(ref, name))
    got, (ei_loops, alpha) = ours(x, ei, return_attention=True)
    want, (ref_ei, ref_alpha) = ref(x, ei, return_attention_weights=True)
    torch.testing.assert_close(got, want)
    # the same attention coefficient on the same edge
    ours_map = {(int(s), int(d)): alpha[i] for i, (s, d) in enumerate(ei_loops.T)}
    for i, (s, d) in enumerate(ref_ei.T):
        torch.testing.assert_close(ours_map[(int(s), int(d))], ref_alpha[i])
    upstream = torch.randn_like(got)
    torch.testing.assert_close(torch.autograd.grad((got * upstream).sum(), x)[0],
                               torch.autograd.grad((want * upstream).sum(), x)[0])


def test_attention_dropout_only_in_training():
    ei = karate_edge_index()
    layer = GATLayer(8, 4, heads=2, dropout=0.9)
    x = torch.randn(34, 8)
    layer.eval()
    torch.testing.assert_close(layer(x, ei), layer(x, ei))
    layer.train()
    torch.manual_seed(0)
    a = layer(x, ei)
    torch.manual_seed(1)
    assert not torch.allclose(a, layer(x, ei))


def test_gat_model_output_shape():
    assert GAT(34, 8, 3, heads=8)(torch.eye(34), karate_edge_index()).shape == (34, 3)
