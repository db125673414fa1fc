"""Multi-hop logical queries over a knowledge graph, with exact answers by symbolic traversal.

A query is a small tree: anchors (known entities), relation projections (follow r from a set of entities) and
intersections (entities that satisfy every branch). The seven structures of Query2Box / BetaE:

    1p  e -r1-> ?                                  2i  (e1 -r1-> ?) ∧ (e2 -r2-> ?)
    2p  e -r1-> · -r2-> ?                          3i  three 1p branches, intersected
    3p  e -r1-> · -r2-> · -r3-> ?                  ip  ((e1 -r1->) ∧ (e2 -r2->)) -r3-> ?
                                                   pi  (e1 -r1-> · -r2-> ?) ∧ (e2 -r3-> ?)

A structure is a template over slots (anchor j, relation k); a concrete query fills the slots with ids, so a
batch of queries of one structure is two integer arrays, anchors (B, n_anchors) and relations (B, n_relations),
and both the symbolic executor here and the embedding models in models.py walk the same template.

Exact answers: a set of entities is a boolean vector over N, a projection is one lookup in the (R, N, N)
adjacency tensor, an intersection is a logical and; so the ground truth is computed, not sampled.

Easy and hard answers (Ren et al. 2020; Ren & Leskovec 2020): queries are generated on the full graph
(train + valid + test edges); answers reachable in the graph the model trained on are "easy" (they test
memorisation); the rest are "hard": each needs at least one held-out edge, so only generalisation finds them.
Metrics are taken on hard answers only, each ranked against the entities that are not answers at all.

Generation works backwards from an answer (as BetaE's generator does): pick the target t, then an incoming
edge (m, r, t) for the last projection, and so on to the anchors, so every sampled query has ≥ 1 answer.

Cross-check: tests/multihop/test_queries.py (hand-made KG with known answers for all seven structures;
brute-force enumeration of paths equals the boolean executor on UMLS).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Anchor:
    slot: int


@dataclass(frozen=True)
class Project:
    sub: "Node"
    slot: int


@dataclass(frozen=True)
class Intersect:
    subs: tuple["Node", ...]


Node = Anchor | Project | Intersect

STRUCTURES: dict[str, Node] = {
    "1p": Project(Anchor(0), 0),
    "2p": Project(Project(Anchor(0), 0), 1),
    "3p": Project(Project(Project(Anchor(0), 0), 1), 2),
    "2i": Intersect((Project(Anchor(0), 0), Project(Anchor(1), 1))),
    "3i": Intersect((Project(Anchor(0), 0), Project(Anchor(1), 1), Project(Anchor(2), 2))),
    "ip": Project(Intersect((Project(Anchor(0), 0), Project(Anchor(1), 1))), 2),
    "pi": Intersect((Project(Project(Anchor(0), 0), 1), Project(Anchor(1), 2))),
}
TRAIN_TYPES = ("1p", "2p", "3p", "2i", "3i")   # ip and pi are only tested: unseen combinations (Query2Box protocol)


def n_slots(node: Node) -> tuple[int, int]:
    """(number of anchors, number of relations) a structure uses."""
    if isinstance(node, Anchor):
        return node.slot + 1, 0
    if isinstance(node, Project):
        a, r = n_slots(node.sub)
        return a, max(r, node.slot + 1)
    counts = [n_slots(s) for s in node.subs]
    return max(a for a, _ in counts), max(r for _, r in counts)


def adjacency(triples: np.ndarray, n_entities: int, n_relations: int) -> np.ndarray:
    """(R, N, N) bool: [r, h, t] is True for each triple."""
    adj = np.zeros((n_relations, n_entities, n_entities), dtype=bool)
    adj[triples[:, 1], triples[:, 0], triples[:, 2]] = True
    return adj


def execute(node: Node, anchors: np.ndarray, relations: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Exact answer sets of a batch of one structure: (B, N) bool. anchors (B, n_a), relations (B, n_r)."""
    if isinstance(node, Anchor):
        out = np.zeros((len(anchors), adj.shape[1]), dtype=bool)
        out[np.arange(len(anchors)), anchors[:, node.slot]] = True
        return out
    if isinstance(node, Project):
        sources = execute(node.sub, anchors, relations, adj)                       # (B, N)
        out = np.zeros_like(sources)
        for s in range(0, len(sources), 256):                                      # chunks keep (b, N, N) small
            step = adj[relations[s:s + 256, node.slot]].astype(np.float32)        # (b, N, N): edges of each r
            out[s:s + 256] = np.einsum("bh,bht->bt", sources[s:s + 256].astype(np.float32), step) > 0
        return out
    out = execute(node.subs[0], anchors, relations, adj)
    for sub in node.subs[1:]:
        out &= execute(sub, anchors, relations, adj)
    return out


@dataclass
class QuerySet:
    """Queries of one structure: ids, and answers on the training graph (easy) and the full graph."""
    kind: str
    anchors: np.ndarray
    relations: np.ndarray
    easy: np.ndarray
    """(B, N) bool answers reachable in the training graph"""
    hard: np.ndarray
    """(B, N) bool answers that need at least one held-out edge (full-graph answers minus easy)"""

    def __len__(self) -> int:
        return len(self.anchors)


def _backward(node: Node, target: int, adj: np.ndarray, in_edges: list, rng: np.random.Generator,
              anchors: dict, relations: dict) -> bool:
    """Fill the slots of `node` so that `target` is an answer, walking incoming edges; False if stuck."""
    if isinstance(node, Anchor):
        anchors[node.slot] = target
        return True
    if isinstance(node, Project):
        edges = in_edges[target]                                                   # (k, 2): (relation, source)
        if len(edges) == 0:
            return False
        r, source = edges[rng.integers(len(edges))]
        relations[node.slot] = int(r)
        return _backward(node.sub, int(source), adj, in_edges, rng, anchors, relations)
    return all(_backward(sub, target, adj, in_edges, rng, anchors, relations) for sub in node.subs)


def _in_edges(triples: np.ndarray, n_entities: int) -> list:
    order = np.argsort(triples[:, 2], kind="stable")
    t = triples[order]
    bounds = np.searchsorted(t[:, 2], np.arange(n_entities + 1))
    return [t[bounds[e]:bounds[e + 1]][:, [1, 0]] for e in range(n_entities)]


def sample_queries(kind: str, n: int, sample_graph: np.ndarray, easy_graph: np.ndarray | None, n_entities: int,
                   n_relations: int, rng: np.random.Generator, max_answers: int, max_tries: int = 50) -> QuerySet:
    """`n` distinct queries of structure `kind`, sampled backwards on `sample_graph` (triples).

    With easy_graph given (test queries): keep only queries with at least one hard answer, where easy answers are
    those reachable in easy_graph. Without it (training queries): all answers count, `hard` is empty.
    Queries with more than `max_answers` answers are dropped (near-tautologies say little)."""
    node = STRUCTURES[kind]
    n_a, n_r = n_slots(node)
    full_adj = adjacency(sample_graph, n_entities, n_relations)
    easy_adj = adjacency(easy_graph, n_entities, n_relations) if easy_graph is not None else None
    in_edges = _in_edges(sample_graph, n_entities)
    seen, anchors, relations = set(), [], []
    for _ in range(n * max_tries):
        if len(anchors) >= n:
            break
        a, r = {}, {}
        if not _backward(node, int(rng.integers(n_entities)), full_adj, in_edges, rng, a, r):
            continue
        key = (tuple(a[i] for i in range(n_a)), tuple(r[i] for i in range(n_r)))
        if key in seen:
            continue
        seen.add(key)
        anchors.append(key[0])
        relations.append(key[1])
    A, Rl = np.asarray(anchors, dtype=np.int64).reshape(-1, n_a), np.asarray(relations, dtype=np.int64).reshape(-1, n_r)
    full = execute(node, A, Rl, full_adj)
    if easy_adj is None:
        keep = full.sum(1) <= max_answers
        return QuerySet(kind, A[keep], Rl[keep], full[keep], np.zeros_like(full[keep]))
    easy = execute(node, A, Rl, easy_adj)
    hard = full & ~easy
    keep = (hard.sum(1) > 0) & (full.sum(1) <= max_answers)
    return QuerySet(kind, A[keep], Rl[keep], easy[keep], hard[keep])
