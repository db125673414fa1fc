"""Our Okapi BM25 against the rank_bm25 package on the same tokens: identical scores."""
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from modelbook.retrieval.bm25 import BM25


@pytest.fixture(scope="module")
def handbook_tokens():
    from modelbook.handbook.ask import documents, eval_questions
    from modelbook.retrieval.text import Segmenter

    seg = Segmenter.full()
    corpus = [seg.tokens(f"{d.title}\n{d.text}") for d in documents()]
    queries = [seg.tokens(q["q"]) for q in eval_questions()]
    return corpus, queries


@pytest.mark.parametrize("k1, b", [(1.5, 0.75), (1.2, 0.3), (2.0, 1.0), (0.9, 0.0)])
def test_scores_equal_rank_bm25_on_the_handbook(handbook_tokens, k1, b):
    corpus, queries = handbook_tokens
    ours = BM25.build(corpus, k1=k1, b=b, epsilon=0.25)
    ref = BM25Okapi(corpus, k1=k1, b=b, epsilon=0.25)
    assert ours.n_docs == len(corpus) and ours.avgdl == pytest.approx(ref.avgdl, rel=1e-12)
    for q in queries + [corpus[0][:20], ["no-such-term"], []]:
        np.testing.assert_allclose(ours.scores(q), ref.get_scores(q), rtol=1e-10, atol=1e-12)


def test_negative_idf_is_floored_like_rank_bm25():
    """A term in more than half the documents has a negative Robertson/Spärck Jones IDF; both floor it at ε·mean."""
    corpus = [["kv", "cache", "attention"], ["attention", "head"], ["attention", "softmax", "softmax"], ["gnn"]]
    ours, ref = BM25.build(corpus), BM25Okapi(corpus)
    v = ours.vocabulary["attention"]
    assert ours.idf[v] == pytest.approx(ref.idf["attention"]) and ours.idf[v] > 0
    np.testing.assert_allclose(ours.scores(["attention", "softmax"]), ref.get_scores(["attention", "softmax"]), rtol=1e-12)
    # a repeated query term counts twice (rank_bm25 loops over query tokens too)
    np.testing.assert_allclose(ours.scores(["softmax", "softmax"]), 2 * ours.scores(["softmax"]))


def test_saved_index_gives_the_same_scores(tmp_path, handbook_tokens):
    corpus, queries = handbook_tokens
    ours = BM25.build(corpus, k1=1.3, b=0.6)
    ours.save(tmp_path / "bm25.npz")
    back = BM25.load(tmp_path / "bm25.npz")
    assert (back.k1, back.b) == (1.3, 0.6) and back.vocabulary == ours.vocabulary
    for q in queries[:20]:
        np.testing.assert_array_equal(back.scores(q), ours.scores(q))
