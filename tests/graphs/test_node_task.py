"""The WordNet node task: the piece's edges, labels, split, features and adjacency against the full graph read with
networkx; edge homophily against a loop over the edges."""
import networkx as nx
import numpy as np
import pytest
import torch

from modelbook.data.wordnet import NOUN_CLASSES, hashed_bag_of_words, wordnet_nouns
from modelbook.graphs.node_task import edge_homophily, wordnet_node_task


@pytest.fixture(scope="module")
def graph():
    return wordnet_nouns()


def test_piece_is_the_induced_subgraph_with_its_labels_split_and_features(graph):
    task = wordnet_node_task(graph, 400, "hashed", 32, np.random.default_rng(0))
    nodes = task.nodes
    assert task.n == 400 and np.all(np.diff(nodes) > 0)
    assert len(np.unique(task.y.numpy())) == len(NOUN_CLASSES)          # seeds from every class: none is missing
    full = nx.Graph()
    full.add_edges_from(graph.edge_index().T.tolist())
    want = {tuple(sorted(e)) for e in full.subgraph(nodes.tolist()).edges()}
    got = {tuple(sorted((int(nodes[a]), int(nodes[b])))) for a, b in task.edge_index.T.tolist()}
    assert got == want and task.edge_index.size(1) == 2 * len(want)      # every edge among the nodes, both directions
    np.testing.assert_array_equal(task.y.numpy(), graph.labels[nodes])
    for k, idx in enumerate((task.train, task.val, task.test)):
        np.testing.assert_array_equal(idx.numpy(), np.flatnonzero(graph.split[nodes] == k))
    np.testing.assert_array_equal(task.x.numpy(), hashed_bag_of_words([graph.gloss(int(i)) for i in nodes], 32))
    A = np.zeros((400, 400))
    A[task.edge_index[1].numpy(), task.edge_index[0].numpy()] = 1.0
    A_hat = A + np.eye(400)
    d = A_hat.sum(1) ** -0.5
    np.testing.assert_allclose(task.adj.to_dense().numpy(), d[:, None] * A_hat * d[None, :], rtol=1e-6)


def test_pieces_depend_on_the_generator_only(graph):
    a = wordnet_node_task(graph, 300, "hashed", 16, np.random.default_rng(5))
    b = wordnet_node_task(graph, 300, "hashed", 16, np.random.default_rng(5))
    assert np.array_equal(a.nodes, b.nodes) and torch.equal(a.edge_index, b.edge_index)


def test_edge_homophily_equals_a_loop_over_edges():
    rng = np.random.default_rng(0)
    ei, y = torch.from_numpy(rng.integers(0, 20, (2, 100))), torch.from_numpy(rng.integers(0, 3, 20))
    want = sum(int(y[s] == y[t]) for s, t in ei.T.tolist()) / 100
    assert edge_homophily(ei, y) == pytest.approx(want, abs=1e-7)
