"""Zachary's own prediction of the karate club's split: a weighted minimum s–t cut (max-flow/min-cut).

Zachary (1977) modelled the club as a flow network whose capacities are the friendship weights and cut it between
the instructor and the administrator: the minimum cut is the weakest set of ties separating them, and it placed
every member but one (#9) in the faction he joined. Computed here with networkx's max-flow.

Cross-check: tests/graphs/test_mincut.py (the cut's weight equals the minimum over every partition of small graphs).
"""
from __future__ import annotations

import numpy as np


def min_cut_sides(G, source, sink, weight: str = "weight") -> np.ndarray:
    """(n,) side of each node of the undirected graph G (in G's node order) under a minimum source–sink cut with
    edge capacities G[u][v][weight]: 0 on the source's side, 1 on the sink's."""
    import networkx as nx

    H = G.to_directed()
    nx.set_edge_attributes(H, {(u, v): d[weight] for u, v, d in H.edges(data=True)}, "capacity")
    _, (source_side, _) = nx.minimum_cut(H, source, sink)
    return np.array([0 if i in source_side else 1 for i in G])
