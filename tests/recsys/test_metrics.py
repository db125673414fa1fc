"""Recall@k and NDCG@k from ranked lists against torchmetrics and scikit-learn on the same scores."""
import numpy as np
import pytest
import torch
from sklearn.metrics import ndcg_score

from modelbook.recsys.metrics import intra_list_distance, recall_ndcg, top_k

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def lists():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(30, 50))
    relevant = rng.random((30, 50)) < 0.1
    relevant[0] = False                                                  # a user with nothing held out is left out
    return scores, relevant


def test_against_torchmetrics(lists):
    from torchmetrics.retrieval import RetrievalNormalizedDCG, RetrievalRecall

    scores, relevant = lists
    rec, ndcg = recall_ndcg(top_k(scores, None, 10), relevant)
    keep = relevant.sum(1) > 0
    idx = torch.arange(keep.sum())[:, None].expand(-1, 50).reshape(-1)
    preds, target = torch.from_numpy(scores[keep]).reshape(-1), torch.from_numpy(relevant[keep]).reshape(-1)
    assert float(RetrievalRecall(top_k=10)(preds, target, indexes=idx)) == pytest.approx(rec.mean(), abs=1e-6)
    assert float(RetrievalNormalizedDCG(top_k=10)(preds, target, indexes=idx)) == pytest.approx(ndcg.mean(), abs=1e-6)


def test_against_sklearn_per_user(lists):
    scores, relevant = lists
    _, ndcg = recall_ndcg(top_k(scores, None, 10), relevant)
    keep = relevant.sum(1) > 0
    lib = [ndcg_score(relevant[u][None].astype(float), scores[u][None], k=10) for u in np.flatnonzero(keep)]
    np.testing.assert_allclose(ndcg, lib, atol=1e-12)
    # bite: a discount 1/log2(p + 1) shifted by one position is not NDCG
    hits = np.take_along_axis(relevant, top_k(scores, None, 10), 1)[keep]
    wrong = (hits / np.log2(np.arange(10) + 1.5)).sum(1)
    assert not np.allclose(wrong / wrong.max(), lib, atol=1e-3)


def test_top_k_excludes_seen_and_sorts():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    seen = np.array([[False, True, False, False]])
    assert top_k(scores, seen, 2).tolist() == [[3, 2]]


def test_intra_list_distance():
    e = np.eye(3)
    assert intra_list_distance(np.array([[0, 1, 2]]), e)[0] == pytest.approx(1.0)
    assert intra_list_distance(np.array([[0, 0, 0]]), e)[0] == pytest.approx(0.0)
