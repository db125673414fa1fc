"""Zachary's karate club (J. Anthropological Research 33(4), 1977), as networkx ships it: 34 members, 78 friendships
weighted by the number of contexts the two members met in, and the faction each member joined after the split.

    G, edge_index, y = karate_club()    # networkx Graph, (2, 156) both directions, (34,) faction labels

Member 0 is the instructor (Mr. Hi), member 33 the administrator (John A); y = 0 for Mr. Hi's faction.
"""
from __future__ import annotations

from modelbook.data.card import DataCard

CARD = DataCard("Zachary's karate club", "networkx karate_club_graph (Zachary 1977)", "BSD-3 (package)", 34)


def karate_club():
    """(G, edge_index, y): the networkx graph, its edges in both directions as a (2, 2·78) long tensor of
    sources → targets, and each member's faction (34,) as a long tensor: 0 = 'Mr. Hi', 1 = 'Officer'."""
    import networkx as nx
    import torch

    G = nx.karate_club_graph()
    e = torch.tensor(list(G.edges()), dtype=torch.long).T
    edge_index = torch.cat([e, e.flip(0)], dim=1)                       # both directions
    y = torch.tensor([0 if G.nodes[i]["club"] == "Mr. Hi" else 1 for i in G], dtype=torch.long)
    return G, edge_index, y
