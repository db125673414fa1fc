"""Neighbour sampling: SAGELayer == PyG SAGEConv; sampled forward with unbounded fanouts == full forward."""
import numpy as np
import torch

from modelbook.graphs import SAGE, NeighborSampler, SAGELayer, csr_from_edge_index
from modelbook.graphs.sampling import induced_subgraph, snowball_nodes
from tests.graphs.test_gcn import karate_edge_index


def test_sage_layer_matches_pyg():
    from torch_geometric.nn import SAGEConv

    ei = karate_edge_index()
    x = torch.randn(34, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ref, ours = SAGEConv(7, 3).double(), SAGELayer(7, 3).double()
    with torch.no_grad():
        ours.lin_l.load_state_dict(ref.lin_l.state_dict())
        ours.lin_r.weight.copy_(ref.lin_r.weight)
    got, want = ours(x, ei, 34), ref(x, ei)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.autograd.grad(got.sum(), x)[0], torch.autograd.grad(want.sum(), x)[0])


def test_csr_lists_in_neighbours():
    ei = np.array([[0, 1, 2, 2], [1, 2, 0, 1]])
    csr = csr_from_edge_index(ei, 3)
    assert sorted(csr.indices[csr.indptr[1]:csr.indptr[2]].tolist()) == [0, 2]
    assert csr.degree().tolist() == [1, 2, 1]


def test_fanout_is_respected_and_samples_are_real_neighbours():
    ei = karate_edge_index().numpy()
    csr = csr_from_edge_index(ei, 34)
    sampler = NeighborSampler(csr, (3,))
    nodes = np.arange(34)
    nbrs, row = sampler.sample_neighbors(nodes, 3, np.random.default_rng(0))
    counts = np.bincount(row, minlength=34)
    assert (counts == np.minimum(csr.degree(), 3)).all()
    edges = set(map(tuple, ei.T.tolist()))
    assert all((int(n), int(nodes[r])) in edges for n, r in zip(nbrs, row))
    assert all(len(set(nbrs[row == r])) == counts[r] for r in range(34))  # without replacement


def test_sampled_forward_with_all_neighbours_equals_full_graph_forward():
    ei = karate_edge_index()
    model = SAGE(5, 8, 2).double().eval()
    x = torch.randn(34, 5, dtype=torch.float64)
    full = model(x, model.full_graph_blocks(ei, 34))
    sampler = NeighborSampler(csr_from_edge_index(ei.numpy(), 34), (-1, -1))
    seeds = np.array([3, 17, 30])
    input_nodes, blocks = sampler.sample(seeds, np.random.default_rng(0))
    assert blocks[-1].n_dst == 3 and blocks[0].n_src == len(input_nodes)
    torch.testing.assert_close(model(x[torch.from_numpy(input_nodes)], blocks), full[seeds])


def test_snowball_and_induced_subgraph():
    ei = karate_edge_index().numpy()
    csr = csr_from_edge_index(ei, 34)
    nodes = snowball_nodes(csr, np.array([0]), 10)
    assert len(nodes) == 10 and 0 in nodes
    sub = induced_subgraph(ei, nodes, 34)
    assert sub.max() < 10 and sub.shape[1] > 0
