"""HybridIndex on a small generic corpus: each retriever, the fusion, filters, and the saved index."""
import numpy as np
import pytest

from modelbook.retrieval.index import Document, HybridIndex, load_or_build

DOCS = [
    Document("kv", "During decoding the keys and values of earlier tokens are stored so they are not recomputed.",
             {"lang": "en"}, title="KV cache"),
    Document("lr", "Warm the learning rate up linearly, then decay it along a cosine to zero.", {"lang": "en"},
             title="Learning-rate schedules"),
    Document("gnn", "Each node averages its neighbours' features, then applies a shared linear map.", {"lang": "en"},
             title="Graph convolution"),
    Document("kv-zh", "解码时把之前词元的键和值存起来，避免重复计算。", {"lang": "zh"}, title="KV 缓存"),
    Document("lr-zh", "学习率先线性预热，再按余弦曲线衰减到零。", {"lang": "zh"}, title="学习率调度"),
]


@pytest.fixture(scope="module")
def index():
    from modelbook.retrieval.encoder import OnnxEncoder, ensure_onnx

    return HybridIndex.build(DOCS, OnnxEncoder(ensure_onnx()), embed=lambda d: d.metadata["lang"] == "en")


def test_each_retriever_finds_the_right_document(index):
    # few or no shared words: the dense retriever matches meaning
    assert index.search("message passing between neighbouring vertices", k=1, method="dense")[0].doc.id == "gnn"
    assert index.search("how to change the step size during training", k=1, method="dense")[0].doc.id == "lr"
    assert index.search("message passing between neighbouring vertices", method="bm25") == []
    assert index.search("余弦 学习率", k=1, method="bm25")[0].doc.id == "lr-zh"
    hits = index.search("cosine decay of the learning rate", k=3)
    assert hits[0].doc.id == "lr" and hits[0].bm25_rank == 1 and hits[0].dense_rank == 1
    assert [h.rank for h in hits] == [1, 2, 3]


def test_documents_left_out_of_the_dense_index_are_never_dense_hits(index):
    ids = {h.doc.id for h in index.rank("learning rate", method="dense")}
    assert ids == {"kv", "lr", "gnn"}


def test_filter_and_bm25_fallback(index):
    hits = index.search("cosine learning rate", k=5, where=lambda d: d.metadata["lang"] == "zh")
    assert all(h.doc.metadata["lang"] == "zh" for h in hits)
    fallback = index.search("学习率 余弦", k=5, use_dense=False)
    bm25 = index.search("学习率 余弦", k=5, method="bm25")
    assert [h.doc.id for h in fallback] == [h.doc.id for h in bm25] and all(h.dense_rank is None for h in fallback)
    with pytest.raises(ValueError):
        index.search("x", method="magic")


def test_saved_index_answers_identically(index, tmp_path):
    index.save(tmp_path / "idx")
    back = HybridIndex.load(tmp_path / "idx", index.encoder)
    for q in ("kv cache memory", "学习率预热", "node features of neighbours"):
        a, b = index.rank(q), back.rank(q)
        assert [(h.doc.id, h.score) for h in a] == [(h.doc.id, h.score) for h in b]
    assert not list(tmp_path.glob(".tmp-*"))


def test_load_or_build_caches_by_key_and_rebuilds_damage(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return DOCS

    a, built = load_or_build(tmp_path, "key1", make, None)
    assert built and len(calls) == 1 and a.dense is None
    _, built = load_or_build(tmp_path, "key1", make, None)
    assert not built and len(calls) == 1
    (tmp_path / "key1" / "bm25.npz").write_bytes(b"garbage")
    b, built = load_or_build(tmp_path, "key1", make, None)
    assert built and len(calls) == 2
    np.testing.assert_array_equal(a.bm25.scores(["cache"]), b.bm25.scores(["cache"]))
    load_or_build(tmp_path, "key2", make, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key2"]  # the stale index is gone
