"""Over-smoothing measures and deep blocks."""
import numpy as np
import pytest
import torch

from modelbook.graphs import (
    DeepGCN,
    ResidualGCNBlock,
    dirichlet_energy_ratio,
    mean_cosine_similarity,
    normalized_adjacency,
    propagate_k,
    propagation_cosine_curve,
)
from tests.graphs.test_gcn import karate_edge_index


def test_mean_cosine_of_identical_and_orthogonal_rows():
    assert mean_cosine_similarity(torch.ones(5, 3)) == pytest.approx(1.0)
    assert mean_cosine_similarity(torch.eye(4)) == pytest.approx(0.0)


def test_dirichlet_energy_is_zero_on_the_top_eigenvector_and_positive_elsewhere():
    ei = karate_edge_index()
    adj = normalized_adjacency(ei, 34, torch.float64)
    deg = torch.zeros(34, dtype=torch.float64).index_add_(0, ei[1], torch.ones(ei.size(1), dtype=torch.float64)) + 1
    assert dirichlet_energy_ratio(deg.sqrt()[:, None], adj) == pytest.approx(0.0, abs=1e-12)
    assert dirichlet_energy_ratio(torch.randn(34, 4, dtype=torch.float64), adj) > 0.1


def test_repeated_propagation_converges_to_one_direction():
    adj = normalized_adjacency(karate_edge_index(), 34, torch.float64)
    x = torch.randn(34, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert mean_cosine_similarity(propagate_k(adj, x, 200)) > 0.99 > mean_cosine_similarity(x)


def test_residual_block_is_identity_when_its_convolution_outputs_zero():
    adj = normalized_adjacency(karate_edge_index(), 34)
    block = ResidualGCNBlock(6)
    with torch.no_grad():
        block.conv.linear.weight.zero_()
    h = torch.randn(34, 6)
    torch.testing.assert_close(block(h, adj), h)


@pytest.mark.parametrize("residual", [False, True])
def test_deep_gcn_depth_counts_convolutions(residual):
    model = DeepGCN(10, 8, 3, depth=5, residual=residual)
    assert len(model.convs) == 4
    adj = normalized_adjacency(karate_edge_index(), 34)
    assert model(torch.randn(34, 10), adj).shape == (34, 3)
    assert model.embed(torch.randn(34, 10), adj).shape == (34, 8)


def test_propagation_cosine_curve_equals_dense_matrix_powers():
    from sklearn.metrics.pairwise import cosine_similarity

    ei = karate_edge_index()
    adj = normalized_adjacency(ei, 34, torch.float64)
    x = torch.randn(34, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ks = (0, 1, 3, 10, 40)
    A = adj.to_dense().numpy()
    want = []
    for k in ks:
        c = cosine_similarity(np.linalg.matrix_power(A, k) @ x.numpy())
        want.append((c.sum() - np.trace(c)) / (34 * 33))                 # mean over distinct pairs
    np.testing.assert_allclose(propagation_cosine_curve(adj, x, ks), want, rtol=1e-10)
