"""Path finding: A* with landmarks is exact; the landmark bound is admissible; wide beams become BFS."""
import numpy as np
import pytest

from modelbook.multihop import astar, beam_search, bfs, bfs_distances, farthest_landmarks, landmark_embedding, search_graph


def random_graph(seed, n=200, m=320):
    rng = np.random.default_rng(seed)
    triples = np.stack([rng.integers(n, size=m), rng.integers(3, size=m), rng.integers(n, size=m)], axis=1)
    return search_graph(triples, n, 3), rng


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_astar_with_landmarks_is_optimal_and_the_bound_admissible(seed):
    g, rng = random_graph(seed)
    lm = landmark_embedding(g, rng.choice(g.n_nodes, 4, replace=False))
    for _ in range(15):
        s, t = (int(v) for v in rng.integers(g.n_nodes, size=2))
        d = bfs_distances(g, s)
        if np.isinf(d[t]):
            assert astar(g, s, t, lm).path is None
            continue
        r = astar(g, s, t, lm)
        assert r.length == d[t] == bfs(g, s, t).length
        reach = np.flatnonzero(np.isfinite(d))
        bound = np.abs(lm[:, reach] - lm[:, [s]]).max(0)
        assert (bound <= d[reach] + 1e-9).all()             # never overestimates


def test_paths_are_real_edges_with_their_relations():
    g, rng = random_graph(3)
    edges = {}
    for i in range(g.n_nodes):
        for j, lab in zip(g.indices[g.indptr[i]:g.indptr[i + 1]], g.labels[g.indptr[i]:g.indptr[i + 1]]):
            edges.setdefault((i, int(j)), set()).add(int(lab))
    s, t = 0, int(np.flatnonzero(np.isfinite(bfs_distances(g, 0)))[-1])
    r = bfs(g, s, t)
    for (u, v), lab in zip(zip(r.path, r.path[1:]), r.relations):
        assert lab in edges[(u, v)]


def test_beam_search_as_wide_as_the_graph_is_bfs():
    g, rng = random_graph(4)
    for _ in range(10):
        s, t = (int(v) for v in rng.integers(g.n_nodes, size=2))
        exact = bfs(g, s, t)
        wide = beam_search(g, s, t, lambda n: np.zeros(len(n)), width=g.n_nodes, max_depth=g.n_nodes)
        assert wide.length == exact.length and wide.expanded == exact.expanded


@pytest.mark.parametrize("seed", [0, 5])
def test_farthest_landmarks_equal_the_greedy_rule_on_networkx_distances(seed):
    import networkx as nx

    n, m = 120, 150                                      # sparse: several components, so unreachable nodes occur
    rng = np.random.default_rng(seed)
    triples = np.stack([rng.integers(n, size=m), rng.integers(3, size=m), rng.integers(n, size=m)], axis=1)
    g = search_graph(triples, n, 3)
    nxg = nx.Graph()
    nxg.add_nodes_from(range(n))
    nxg.add_edges_from((int(h), int(t)) for h, _, t in triples)
    D = np.full((n, n), -1.0)                            # unreachable: −1, as the selection counts it
    for u, dist in nx.all_pairs_shortest_path_length(nxg):
        for v, d in dist.items():
            D[u, v] = d
    ours = farthest_landmarks(g, 6, np.random.default_rng(100 + seed))
    expected = [int(np.random.default_rng(100 + seed).integers(n))]   # the same first draw
    for _ in range(5):
        expected.append(int(np.argmax(D[expected].min(0))))
    assert ours.tolist() == expected
    assert (D[expected[0], expected] >= 0).all()         # landmarks stay in the first one's component


def _far_pair(g, rng):
    """A source and a target at least 3 hops apart (so a detour and a shortcut are both possible)."""
    while True:
        s, t = (int(v) for v in rng.integers(g.n_nodes, size=2))
        d = bfs_distances(g, s)[t]
        if 3 <= d < np.inf:
            return s, t


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_excess_hops_is_zero_for_bfs_and_catches_faulty_searches(seed):
    """The lab's path check (hops beyond networkx's shortest path, ∞ for a path that is not a walk) passes BFS and A*
    and fails a detour, an off-by-one length, a path cut one hop short, and a search that returns nothing."""
    from modelbook.multihop import PathResult, excess_hops, reference_graph

    rng = np.random.default_rng(seed)
    n, m = 200, 320
    triples = np.stack([rng.integers(n, size=m), rng.integers(3, size=m), rng.integers(n, size=m)], axis=1)
    g, reference = search_graph(triples, n, 3), reference_graph(triples, n)
    lm = landmark_embedding(g, rng.choice(n, 4, replace=False))
    for _ in range(5):
        s, t = _far_pair(g, rng)
        r = bfs(g, s, t)
        assert excess_hops(reference, s, t, r) == 0 == excess_hops(reference, s, t, astar(g, s, t, lm))
        u, v = r.path[:2]
        detour = PathResult([u, v, u] + r.path[1:], [0, 0] + r.relations, r.expanded)   # back and forth on the first edge
        assert excess_hops(reference, s, t, detour) == 2

        class OffByOne(PathResult):
            @property
            def length(self):
                return len(self.path)

        assert excess_hops(reference, s, t, OffByOne(r.path, r.relations, r.expanded)) == np.inf
        assert excess_hops(reference, s, t, PathResult(r.path[:-1], r.relations[:-1], r.expanded)) == np.inf
        assert excess_hops(reference, s, t, PathResult(None, [], r.expanded)) == np.inf
        shortcut = PathResult([s, t], r.relations[:1], r.expanded)   # claims an edge that is not in the graph
        assert excess_hops(reference, s, t, shortcut) == np.inf


def test_excess_hops_catches_a_depth_first_search():
    """On a cycle, depth-first search reaches the target the long way round: the check sees the excess."""
    from modelbook.multihop import PathResult, excess_hops, reference_graph

    n = 12
    triples = np.array([[i, 0, (i + 1) % n] for i in range(n)])
    reference = reference_graph(triples, n)
    dfs_path = list(range(0, 8))   # 0 → 1 → … → 7 along the cycle; the shortest way is 0 → 11 → … → 7, 5 hops
    assert excess_hops(reference, 0, 7, PathResult(dfs_path, [0] * 7, 8)) == 2
    assert excess_hops(reference, 0, 7, bfs(search_graph(triples, n, 1), 0, 7)) == 0
