"""Lab `multihop`: measured outcomes beyond the contract."""
from modelbook.multihop import STRUCTURES


def test_multihop_lab_outcomes(quick_result):
    result, _ = quick_result("multihop")
    v = result.value
    for model in ("gqe", "q2b"):
        # hard answers need held-out edges; both models beat a random ranker by a wide margin on every structure
        assert v(f"{model}/mean_hits@3") >= 6 * v("random/mean_hits@3")
        for kind in STRUCTURES:
            assert v(f"{model}/{kind}_hits@3") >= 2 * v(f"random/{kind}_hits@3"), kind
        assert v(f"{model}/1p_mrr") > v(f"{model}/3p_mrr")
    assert v("q2b/mean_mrr") > v("gqe/mean_mrr") - 0.02
    # exact search finds shortest paths; A* + landmarks does it with fewer nodes; beams touch far fewer
    assert v("paths/bfs_length_over_shortest") == 1.0 == v("paths/astar_landmark_length_over_shortest")
    assert v("paths/astar_landmark_nodes_expanded") < v("paths/bfs_on_astar_pairs_nodes_expanded")
    assert v("paths/beam_landmark_w128_nodes_expanded") < 0.5 * v("paths/bfs_nodes_expanded")
    assert v("paths/beam_landmark_w128_success") >= v("paths/beam_landmark_w16_success")


def test_worst_structure_check_fails_an_untrained_model():
    """The worst-structure Hits@3 check: an untrained Query2Box stays near chance and fails it; a model that scores
    the true answers highest passes it."""
    import numpy as np
    import torch

    from modelbook.data.kg import load_kg
    from modelbook.labs.multihop import ANSWER_CAP, WORST_OVER_RANDOM, worst_over_random
    from modelbook.multihop import Query2Box, evaluate_queries, random_ranker_metrics, sample_queries

    kg = load_kg("umls")
    n, r = kg.n_entities, kg.n_relations
    rng = np.random.default_rng(0)
    tests = {k: sample_queries(k, 60, kg.all_triples(), np.concatenate([kg.train, kg.valid]), n, r, rng, n // ANSWER_CAP)
             for k in ("1p", "2p", "2i")}
    random = {k: random_ranker_metrics(q) for k, q in tests.items()}
    torch.manual_seed(0)
    untrained = Query2Box(n, r, 32)
    _, ratio = worst_over_random({k: evaluate_queries(untrained, q) for k, q in tests.items()}, random)
    assert ratio < WORST_OVER_RANDOM

    class Oracle:
        def __init__(self, qs):
            self.answers = torch.from_numpy(qs.easy | qs.hard).double()

        def logits(self, structure, anchors, relations):
            return self.answers + torch.rand(self.answers.shape, generator=torch.Generator().manual_seed(0)) * 0.5

    _, ratio = worst_over_random({k: evaluate_queries(Oracle(q), q) for k, q in tests.items()}, random)
    assert ratio > WORST_OVER_RANDOM
