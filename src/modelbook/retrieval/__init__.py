"""Retrieval over any list of documents: BM25 over jieba-segmented Chinese and English tokens, dense
MiniLM embeddings (run with ONNX Runtime, no torch at query time), and reciprocal-rank fusion.

    from modelbook.retrieval import Document, HybridIndex, OnnxEncoder

    index = HybridIndex.build([Document(id, text, metadata, title=...) ...], OnnxEncoder())
    hits = index.search("how does a KV cache save time?", k=5)

Used by `modelbook ask` over the handbook, and meant for the NLP lab's QA / RAG over the same documents.

    text.py      tokens for BM25 (jieba for Chinese, lower-cased words for English, stop words)
    bm25.py      Okapi BM25 from scratch (checked against rank_bm25)
    encoder.py   MiniLM exported once to ONNX; embeddings with onnxruntime + tokenizers
    dense.py     passages, cosine similarity, best passage per document
    fusion.py    reciprocal-rank fusion (and min-max score fusion for comparison)
    index.py     HybridIndex: build, search, save/load; load_or_build keeps a cache folder
    evaluate.py  recall@k
"""
from modelbook.retrieval.index import Document, Hit, HybridIndex, load_or_build


def __getattr__(name):  # OnnxEncoder imports onnxruntime: only when asked for
    if name == "OnnxEncoder":
        from modelbook.retrieval.encoder import OnnxEncoder

        return OnnxEncoder
    raise AttributeError(name)


__all__ = ["Document", "Hit", "HybridIndex", "OnnxEncoder", "load_or_build"]
