"""Query structures: exact answers by traversal, checked by hand and against brute-force path enumeration."""

import numpy as np
import pytest

from modelbook.data.kg import load_kg
from modelbook.multihop import STRUCTURES, adjacency, execute, sample_queries
from modelbook.multihop.queries import n_slots

# a tiny KG: 0 -a-> 1 -b-> 2 -c-> 3 ; 4 -a-> 1 ; 5 -d-> 2 ; 6 -d-> 3
TRIPLES = np.array([[0, 0, 1], [1, 1, 2], [2, 2, 3], [4, 0, 1], [5, 3, 2], [6, 3, 3]])
ADJ = adjacency(TRIPLES, 7, 4)


def answers(kind, anchors, relations):
    out = execute(STRUCTURES[kind], np.array([anchors]), np.array([relations]), ADJ)[0]
    return set(np.flatnonzero(out).tolist())


def test_hand_made_answers_for_all_seven_structures():
    assert answers("1p", [0], [0]) == {1}
    assert answers("2p", [0], [0, 1]) == {2}
    assert answers("3p", [4], [0, 1, 2]) == {3}
    assert answers("2i", [1, 5], [1, 3]) == {2}
    assert answers("3i", [1, 5, 1], [1, 3, 1]) == {2}
    assert answers("ip", [1, 5], [1, 3, 2]) == {3}         # (1 -b->) ∧ (5 -d->) = {2}, then -c-> 3
    assert answers("pi", [0, 6], [0, 1, 3]) == set()        # 0-a->1-b->2 vs 6-d->3: no overlap
    assert answers("pi", [0, 5], [0, 1, 3]) == {2}


def test_slot_counts():
    assert {k: n_slots(v) for k, v in STRUCTURES.items()} == {
        "1p": (1, 1), "2p": (1, 2), "3p": (1, 3), "2i": (2, 2), "3i": (3, 3), "ip": (2, 3), "pi": (2, 3)}


def test_executor_equals_brute_force_path_enumeration_on_umls():
    kg = load_kg("umls")
    adj = adjacency(kg.train, kg.n_entities, kg.n_relations)
    edges = {}
    for h, r, t in kg.train.tolist():
        edges.setdefault((h, r), set()).add(t)
    rng = np.random.default_rng(0)
    for _ in range(30):
        e, r1, r2 = int(rng.integers(kg.n_entities)), *(int(x) for x in rng.integers(kg.n_relations, size=2))
        brute = {t for m in edges.get((e, r1), ()) for t in edges.get((m, r2), ())}
        got = execute(STRUCTURES["2p"], np.array([[e]]), np.array([[r1, r2]]), adj)[0]
        assert set(np.flatnonzero(got).tolist()) == brute


@pytest.mark.parametrize("kind", list(STRUCTURES))
def test_sampled_test_queries_have_hard_answers_disjoint_from_easy_ones(kind):
    kg = load_kg("umls")
    rng = np.random.default_rng(0)
    easy_graph = np.concatenate([kg.train, kg.valid])
    qs = sample_queries(kind, 40, kg.all_triples(), easy_graph, kg.n_entities, kg.n_relations, rng, max_answers=45)
    assert len(qs) > 0
    assert (qs.hard.sum(1) >= 1).all() and not (qs.hard & qs.easy).any()
    full = execute(STRUCTURES[kind], qs.anchors, qs.relations, adjacency(kg.all_triples(), kg.n_entities, kg.n_relations))
    assert np.array_equal(full, qs.hard | qs.easy)
    assert len({(tuple(a), tuple(r)) for a, r in zip(qs.anchors.tolist(), qs.relations.tolist())}) == len(qs)


def test_training_queries_have_answers_and_no_hard_part():
    kg = load_kg("nations")
    qs = sample_queries("3i", 20, kg.train, None, kg.n_entities, kg.n_relations, np.random.default_rng(1), max_answers=14)
    assert (qs.easy.sum(1) >= 1).all() and not qs.hard.any()
