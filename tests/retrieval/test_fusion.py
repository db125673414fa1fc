"""Reciprocal-rank fusion and min-max score fusion on hand-computed examples."""
import numpy as np
import pytest

from modelbook.retrieval.fusion import minmax_fusion, ranking, rrf


def test_rrf_by_hand():
    bm25 = np.array([2, 0])           # BM25 retrieved docs 2 then 0
    dense = np.array([0, 1, 2])       # dense ranks everything
    scores = rrf([bm25, dense], n_docs=4, k=60)
    assert scores[0] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 62)
    assert scores[2] == pytest.approx(1 / 61 + 1 / 63)
    assert scores[3] == 0  # retrieved by nobody
    assert list(ranking(scores, scores > 0)) == [0, 2, 1]


def test_ranking_respects_the_mask_and_is_stable_on_ties():
    scores = np.array([0.5, 0.9, 0.5, 0.1])
    assert list(ranking(scores)) == [1, 0, 2, 3]
    assert list(ranking(scores, np.array([True, False, True, True]))) == [0, 2, 3]


def test_minmax_fusion_rescales_each_retriever_to_unit_range():
    bm25 = np.array([10.0, 0.0, 5.0])
    dense = np.array([0.2, 0.6, 0.4])
    fused = minmax_fusion([bm25, dense], [bm25 > 0, None])
    # bm25 over retrieved {0, 2}: 1, -, 0 ; dense over all: 0, 1, 0.5
    np.testing.assert_allclose(fused, [1.0, 1.0, 0.5])
