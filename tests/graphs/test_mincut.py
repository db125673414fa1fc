"""Zachary's min-cut: its weight equals the minimum over every partition of small graphs; on the club, 33 of 34."""
import itertools

import networkx as nx
import numpy as np
import pytest

from modelbook.data.karate import karate_club
from modelbook.graphs.mincut import min_cut_sides


def _cut_weight(G, sides) -> float:
    return sum(d["weight"] for u, v, d in G.edges(data=True) if sides[u] != sides[v])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_cut_weight_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    G = nx.gnp_random_graph(10, 0.4, seed=seed)
    for u, v in G.edges():
        G[u][v]["weight"] = float(rng.integers(1, 6))
    sides = min_cut_sides(G, 0, 9)
    assert sides[0] == 0 and sides[9] == 1
    best = min(_cut_weight(G, [0] + list(rest) + [1]) for rest in itertools.product((0, 1), repeat=8))
    assert _cut_weight(G, sides) == best


def test_karate_min_cut_places_all_but_one_member():
    G, _, y = karate_club()
    sides = min_cut_sides(G, 0, 33)
    assert int((sides == y.numpy()).sum()) == 33                   # Zachary 1977: all but member #9
