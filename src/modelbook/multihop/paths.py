"""Path finding on a large graph: exact breadth-first search, A* with a landmark embedding, and beam search
guided by an embedding: how many nodes each touches, and whether it finds a (shortest) path.

    BFS           exact; settles every node closer than the target: work grows with the ball around the source
    A* + ALT      exact; h(v) = max_l |d(l, v) − d(l, t)| over a few landmarks l (Goldberg & Harrelson 2005):
                  by the triangle inequality a lower bound on d(v, t), so A* still returns a shortest path,
                  expanding only nodes that look on the way. The landmark distances ARE an embedding: each node
                  is the vector of its distances to the landmarks, chosen far apart (`farthest_landmarks`)
    beam search   approximate; keep only the `width` best-scoring new nodes per depth, scored by similarity of an
                  embedding to the target's. Touches few nodes; may miss the target or take a detour

The graph is undirected for search (an edge can be walked against its direction: "x is a hypernym of y"
read backwards is "y is a hyponym of x"); paths report the relation of each step, with "⁻¹" when reversed.

Cross-check: tests/multihop/test_paths.py (A* with the landmark heuristic returns BFS-optimal lengths on
random graphs; the heuristic never exceeds the true distance; beam search with width ≥ N is BFS; farthest-point
landmarks equal the same greedy rule on networkx's all-pairs distances).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path


@dataclass(frozen=True)
class SearchGraph:
    """Undirected adjacency in CSR form, each entry labelled with its relation (r, or r + R when reversed)."""
    indptr: np.ndarray
    indices: np.ndarray
    labels: np.ndarray
    matrix: sp.csr_matrix

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    def neighbours(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(neighbour, the node it came from, relation label) for every edge out of `nodes`."""
        starts, deg = self.indptr[nodes], self.indptr[nodes + 1] - self.indptr[nodes]
        within = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
        eid = np.repeat(starts, deg) + within
        return self.indices[eid], np.repeat(nodes, deg), self.labels[eid]


def search_graph(triples: np.ndarray, n_nodes: int, n_relations: int) -> SearchGraph:
    """triples (E, 3) [head, relation, tail] -> both directions, labelled."""
    src = np.concatenate([triples[:, 0], triples[:, 2]])
    dst = np.concatenate([triples[:, 2], triples[:, 0]])
    lab = np.concatenate([triples[:, 1], triples[:, 1] + n_relations])
    order = np.lexsort((dst, src))
    src, dst, lab = src[order], dst[order], lab[order]
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_nodes), out=indptr[1:])
    matrix = sp.csr_matrix((np.ones(len(src), dtype=np.int8), dst, indptr), shape=(n_nodes, n_nodes))
    return SearchGraph(indptr, dst.astype(np.int64), lab.astype(np.int64), matrix)


@dataclass(frozen=True)
class PathResult:
    path: list[int] | None
    """nodes from source to target, or None when not found"""
    relations: list[int]
    expanded: int
    """nodes whose neighbours were generated (the work done)"""

    @property
    def length(self) -> float:
        return len(self.path) - 1 if self.path else float("inf")


def bfs_distances(g: SearchGraph, source: int) -> np.ndarray:
    """(N,) hop distances from `source` (inf where unreachable); scipy's breadth-first search, in C."""
    return shortest_path(g.matrix, unweighted=True, directed=True, indices=source)


class _Tree:
    """Parent pointers of a search, as arrays over all N nodes (a search may touch tens of thousands)."""

    def __init__(self, n: int, source: int):
        self.node = np.full(n, -1, dtype=np.int64)
        self.rel = np.full(n, -1, dtype=np.int64)
        self.seen = np.zeros(n, dtype=bool)
        self.seen[source] = True
        self.source = source

    def add_level(self, nbr: np.ndarray, came_from: np.ndarray, rel: np.ndarray) -> np.ndarray:
        """Record the first parent of every unseen neighbour; returns those new nodes (sorted)."""
        fresh = ~self.seen[nbr]
        nodes, first = np.unique(nbr[fresh], return_index=True)
        self.node[nodes], self.rel[nodes] = came_from[fresh][first], rel[fresh][first]
        self.seen[nodes] = True
        return nodes

    def path(self, target: int) -> tuple[list[int], list[int]]:
        nodes, rels = [target], []
        while nodes[-1] != self.source:
            rels.append(int(self.rel[nodes[-1]]))
            nodes.append(int(self.node[nodes[-1]]))
        return nodes[::-1], rels[::-1]


def bfs(g: SearchGraph, source: int, target: int) -> PathResult:
    """Exact shortest path, level by level; expanded = nodes whose neighbours were generated."""
    tree = _Tree(g.n_nodes, source)
    frontier, expanded = np.array([source]), 0
    while len(frontier) and not tree.seen[target]:
        expanded += len(frontier)
        frontier = tree.add_level(*g.neighbours(frontier))
    if not tree.seen[target]:
        return PathResult(None, [], expanded)
    return PathResult(*tree.path(target), expanded)


def landmark_embedding(g: SearchGraph, landmarks: np.ndarray) -> np.ndarray:
    """(L, N) hop distances from each landmark (large where unreachable)."""
    d = shortest_path(g.matrix, unweighted=True, directed=True, indices=landmarks)
    return np.where(np.isinf(d), 1e6, d)


def farthest_landmarks(g: SearchGraph, k: int, rng: np.random.Generator) -> np.ndarray:
    """k landmarks by farthest-point selection (Goldberg & Harrelson 2005): a random first node, then each new
    landmark is the node farthest (in hops) from its nearest chosen one. Nodes unreachable from a landmark count
    as distance −1 to it, so every landmark lies in the first one's component (on a graph smaller than k, once
    the component is used up, landmarks repeat)."""
    chosen = [int(rng.integers(g.n_nodes))]
    dmin = bfs_distances(g, chosen[0])
    dmin[np.isinf(dmin)] = -1
    for _ in range(k - 1):
        chosen.append(int(np.argmax(dmin)))
        d = bfs_distances(g, chosen[-1])
        d[np.isinf(d)] = -1
        dmin = np.minimum(dmin, d)
    return np.array(chosen)


def astar(g: SearchGraph, source: int, target: int, landmarks: np.ndarray) -> PathResult:
    """A* with the admissible ALT heuristic from the landmark embedding `landmarks` (L, N)."""
    goal = landmarks[:, target]

    def h(nodes):
        return np.abs(landmarks[:, nodes] - goal[:, None]).max(0)

    best = {source: 0}
    tree = _Tree(g.n_nodes, source)
    heap = [(float(h(np.array([source]))[0]), 0, source)]
    closed, expanded = set(), 0
    while heap:
        _, g_cost, u = heapq.heappop(heap)
        if u in closed:
            continue
        if u == target:
            return PathResult(*tree.path(target), expanded)
        closed.add(u)
        expanded += 1
        nbr, _, rel = g.neighbours(np.array([u]))
        hv = h(nbr)
        for v, r, hh in zip(nbr.tolist(), rel.tolist(), hv.tolist()):
            if g_cost + 1 < best.get(v, np.inf):
                best[v] = g_cost + 1
                tree.node[v], tree.rel[v] = u, r
                heapq.heappush(heap, (g_cost + 1 + hh, g_cost + 1, v))
    return PathResult(None, [], expanded)


def beam_search(g: SearchGraph, source: int, target: int, score: Callable[[np.ndarray], np.ndarray], width: int,
                max_depth: int) -> PathResult:
    """Keep the `width` new nodes with the highest score(nodes) (similarity to the target) at each depth."""
    tree = _Tree(g.n_nodes, source)
    frontier, expanded = np.array([source]), 0
    for _ in range(max_depth):
        if not len(frontier):
            break
        expanded += len(frontier)
        nodes = tree.add_level(*g.neighbours(frontier))
        if tree.seen[target]:
            return PathResult(*tree.path(target), expanded)
        if len(nodes) > width:
            nodes = nodes[np.argsort(-score(nodes), kind="stable")[:width]]
        frontier = nodes
    return PathResult(None, [], expanded)


def reference_graph(triples: np.ndarray, n_nodes: int):
    """The same graph as a networkx Graph (undirected, built from the triples, not from a SearchGraph): the referee
    of the searches' path lengths."""
    import networkx as nx

    reference = nx.Graph()
    reference.add_nodes_from(range(n_nodes))
    reference.add_edges_from(zip(triples[:, 0].tolist(), triples[:, 2].tolist()))
    return reference


def excess_hops(reference, source: int, target: int, found: PathResult) -> float:
    """found.length minus networkx's shortest source–target distance in `reference`; inf when found.path is not a
    walk from source to target along edges of `reference` of found.length hops (a missing path included)."""
    import networkx as nx

    path = found.path
    if (not path or path[0] != source or path[-1] != target or len(path) - 1 != found.length
            or not all(reference.has_edge(u, v) for u, v in zip(path, path[1:]))):
        return float("inf")
    return found.length - nx.shortest_path_length(reference, source, target)
