"""A node-classification task on the WordNet noun graph: which nodes, their features, labels, split and adjacency.

    task = wordnet_node_task(wordnet_nouns(), 1500, "hashed", 128, rng)   # a 1,500-node piece, hashed gloss features
    GCN(task.x.size(1), 64, 26)(task.x, task.adj)[task.train]

A piece of the graph (n_nodes < 82,115) is grown breadth-first (snowball_nodes) from `seeds_per_class` random
synsets of every class, so it is connected and keeps its edges, and no class is missing: a piece grown from
uniformly drawn seeds is dominated by the classes with hub synsets. The split is WordNet's fixed one
(data/wordnet.py), restricted to the piece.

Edge homophily (Zhu et al. 2020): the share of edges that join two nodes of the same class, the quantity that
says whether averaging over neighbours can help a classifier.

Cross-check: tests/graphs/test_node_task.py (the piece's edges, labels, split and features against the full graph
read with networkx; homophily against a loop over the edges).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from modelbook.data.wordnet import NOUN_CLASSES, WordNetGraph, hashed_bag_of_words, minilm_gloss_embeddings
from modelbook.graphs.gcn import Adjacency, normalized_adjacency
from modelbook.graphs.sampling import csr_from_edge_index, induced_subgraph, snowball_nodes


@dataclass
class NodeTask:
    nodes: np.ndarray
    """(n,) sorted global synset ids of the piece"""
    edge_index: torch.Tensor
    """(2, E) edges among them, both directions, renumbered 0..n-1"""
    adj: Adjacency
    """the GCN's D̂^{-1/2}(A+I)D̂^{-1/2}"""
    x: torch.Tensor
    """(n, F) gloss features"""
    y: torch.Tensor
    """(n,) class (lexicographer file) of each node"""
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    @property
    def n(self) -> int:
        return len(self.nodes)


def wordnet_node_task(graph: WordNetGraph, n_nodes: int, features: Literal["hashed", "minilm"], hash_dim: int,
                      rng: np.random.Generator, seeds_per_class: int = 2) -> NodeTask:
    """The task on all of `graph` (n_nodes = 0 or ≥ its size) or on a breadth-first piece of n_nodes nodes grown
    from `seeds_per_class` synsets of each class drawn from `rng`. features: hashed bag of words of the glosses
    (hash_dim buckets) or their cached all-MiniLM-L6-v2 embeddings."""
    full_ei = graph.edge_index()
    if n_nodes and n_nodes < graph.n_nodes:
        seeds = np.concatenate([rng.choice(np.flatnonzero(graph.labels == c), seeds_per_class, replace=False)
                                for c in range(len(NOUN_CLASSES))])
        nodes = snowball_nodes(csr_from_edge_index(full_ei, graph.n_nodes), seeds, n_nodes)
        ei = induced_subgraph(full_ei, nodes, graph.n_nodes)
    else:
        nodes, ei = np.arange(graph.n_nodes), full_ei
    if features == "hashed":
        x = torch.from_numpy(hashed_bag_of_words(graph.glosses(nodes), hash_dim))
    else:
        x = minilm_gloss_embeddings(graph)[torch.from_numpy(nodes)]
    ei_t = torch.from_numpy(ei)
    split = graph.split[nodes]
    idx = [torch.from_numpy(np.flatnonzero(split == k)) for k in range(3)]
    return NodeTask(nodes, ei_t, normalized_adjacency(ei_t, len(nodes)), x, torch.from_numpy(graph.labels[nodes]), *idx)


def edge_homophily(edge_index: torch.Tensor, y: torch.Tensor) -> float:
    """Share of the edges (2, E) whose two ends have the same label y (n,)."""
    return float((y[edge_index[0]] == y[edge_index[1]]).float().mean())
