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
