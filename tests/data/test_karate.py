"""Zachary's karate club: the edge list and the factions equal networkx's graph read another way."""
import networkx as nx
import numpy as np

from modelbook.data.karate import karate_club


def test_edges_both_directions_and_factions():
    G, edge_index, y = karate_club()
    assert edge_index.shape == (2, 2 * 78) and len(y) == 34
    A = np.zeros((34, 34))
    A[edge_index[0].numpy(), edge_index[1].numpy()] = 1.0
    np.testing.assert_array_equal(A, (nx.to_numpy_array(nx.karate_club_graph(), weight=None) > 0).astype(float))
    clubs = nx.get_node_attributes(nx.karate_club_graph(), "club")
    np.testing.assert_array_equal(y.numpy(), [int(clubs[i] != "Mr. Hi") for i in range(34)])
    assert y[0] == 0 and y[33] == 1 and int(y.sum()) == 17                     # 17 members followed each leader
