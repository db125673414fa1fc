"""GQE and Query2Box geometry, training and ranking."""
import numpy as np
import pytest
import torch

from modelbook.multihop import GQE, STRUCTURES, Query2Box, hard_answer_ranks, per_query_metrics, random_ranker_metrics
from modelbook.multihop.queries import QuerySet


def test_box_distance_inside_outside():
    m = Query2Box(3, 1, 2, alpha=0.2)
    c, o = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    assert m.distance(torch.tensor([[0.0, 0.0]]), c, o).item() == 0.0                 # the center
    assert m.distance(torch.tensor([[0.5, 0.0]]), c, o).item() == pytest.approx(0.2 * 0.5)   # inside: α · distance
    assert m.distance(torch.tensor([[3.0, 0.0]]), c, o).item() == pytest.approx(2.0 + 0.2 * 1.0)  # 2 outside + α·1


def test_projection_of_an_anchor_is_a_translated_box_and_intersection_shrinks():
    torch.manual_seed(0)
    m = Query2Box(5, 2, 4)
    anchors, relations = torch.tensor([[1, 2]]), torch.tensor([[0, 1]])
    c, o = m.embed(STRUCTURES["1p"], anchors, relations)
    torch.testing.assert_close(c, m.entity[[1]] + m.relation[[0]])
    torch.testing.assert_close(o, torch.relu(m.offset[[0]]))
    _, o2 = m.embed(STRUCTURES["2i"], anchors, relations)
    assert (o2 <= torch.minimum(torch.relu(m.offset[0]), torch.relu(m.offset[1])) + 1e-7).all()


def test_gqe_on_1p_is_translation():
    torch.manual_seed(0)
    m = GQE(5, 2, 4)
    logits = m.logits(STRUCTURES["1p"], torch.tensor([[3]]), torch.tensor([[1]]))
    want = m.gamma - (m.entity - (m.entity[3] + m.relation[1])).abs().sum(-1)
    torch.testing.assert_close(logits[0], want)


def test_hard_answer_ranks_filter_other_answers():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])
    easy = np.array([[True, False, False, False, False]])
    hard = np.array([[False, False, True, False, True]])
    q, ranks = hard_answer_ranks(logits, easy, hard)
    assert q.tolist() == [0, 0]
    assert ranks.tolist() == [2.0, 3.0]      # entity 2 is beaten only by the non-answer 1; entity 4 by 1 and 3
    m = per_query_metrics(q, ranks, 1)
    assert m["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2) and m["hits@3"] == 1.0 and m["hits@1"] == 0.0


def test_random_ranker_expectation_matches_simulation():
    rng = np.random.default_rng(0)
    easy = rng.random((50, 30)) < 0.1
    hard = (rng.random((50, 30)) < 0.1) & ~easy
    hard[:, 0] = ~easy[:, 0]
    qs = QuerySet("1p", np.zeros((50, 1), dtype=np.int64), np.zeros((50, 1), dtype=np.int64), easy, hard)
    exact = random_ranker_metrics(qs)
    sims = []
    for _ in range(300):
        q, r = hard_answer_ranks(torch.from_numpy(rng.random((50, 30))), easy, hard)
        sims.append(per_query_metrics(q, r, 50)["mrr"])
    assert exact["mrr"] == pytest.approx(np.mean(sims), abs=0.01)
