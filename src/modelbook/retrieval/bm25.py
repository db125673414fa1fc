"""Okapi BM25, from scratch, over an inverted index.

For a query q = (t₁ … t_m) and a document D of |D| tokens, with f(t, D) the count of t in D,

    score(D, q) = Σᵢ IDF(tᵢ) · f(tᵢ, D) · (k1 + 1) / ( f(tᵢ, D) + k1 · (1 − b + b · |D| / avgdl) )

    IDF(t) = ln( (N − n(t) + 0.5) / (n(t) + 0.5) )

N documents, n(t) of them contain t, avgdl the mean document length (Robertson & Zaragoza 2009, "The
Probabilistic Relevance Framework: BM25 and Beyond", eq. 3.12 with the Robertson/Spärck Jones weight).
k1 sets how fast repeated terms saturate (k1 = 0: presence only); b how much long documents are penalised
(b = 0: none, b = 1: fully by length). A term in more than half the documents gets a negative IDF; as in
the `rank_bm25` package, such IDFs are floored at ε · (mean IDF), so a very common word still counts a
little instead of lowering the score. A query term repeated in the query counts once per occurrence.

tests/retrieval/test_bm25.py checks the scores against `rank_bm25.BM25Okapi` on the handbook corpus.
Only NumPy: the index is three flat arrays (postings as CSR rows), so it saves to one .npz and loads fast.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np


class BM25:
    """An inverted index over tokenised documents, and Okapi BM25 scores of a query against every document."""

    def __init__(self, vocabulary: dict[str, int], indptr: np.ndarray, doc_ids: np.ndarray, tf: np.ndarray,
                 doc_len: np.ndarray, idf: np.ndarray, k1: float = 1.5, b: float = 0.75):
        self.vocabulary = vocabulary   # term -> row
        self.indptr = indptr           # (V + 1,)  postings of term v: [indptr[v], indptr[v + 1])
        self.doc_ids = doc_ids         # (P,)      document of each posting
        self.tf = tf                   # (P,)      f(t, D) of each posting
        self.doc_len = doc_len         # (N,)      |D|
        self.idf = idf                 # (V,)
        self.k1, self.b = k1, b
        avgdl = float(doc_len.mean()) if len(doc_len) else 0.0
        self.avgdl = avgdl
        # the length part of the denominator, per document: k1 · (1 − b + b · |D| / avgdl)
        self._norm = k1 * (1 - b + b * doc_len / avgdl) if avgdl > 0 else np.full(len(doc_len), k1)

    @classmethod
    def build(cls, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> "BM25":
        """corpus: one token list per document."""
        n_docs = len(corpus)
        postings: dict[str, list[tuple[int, int]]] = {}
        for d, tokens in enumerate(corpus):
            for term, count in Counter(tokens).items():
                postings.setdefault(term, []).append((d, count))
        terms = sorted(postings)
        vocabulary = {t: i for i, t in enumerate(terms)}
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(postings[t]) for t in terms])
        doc_ids = np.array([d for t in terms for d, _ in postings[t]], dtype=np.int32)
        tf = np.array([c for t in terms for _, c in postings[t]], dtype=np.float64)
        doc_len = np.array([len(tokens) for tokens in corpus], dtype=np.float64)
        df = np.diff(indptr).astype(np.float64)                                   # n(t)
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        if len(idf):
            floor = epsilon * idf.mean()
            idf = np.where(idf < 0, floor, idf)
        return cls(vocabulary, indptr, doc_ids, tf, doc_len, idf, k1, b)

    @property
    def n_docs(self) -> int:
        return len(self.doc_len)

    def scores(self, query: list[str]) -> np.ndarray:
        """(N,) BM25 score of every document for the query tokens."""
        out = np.zeros(self.n_docs)
        for term in query:
            v = self.vocabulary.get(term)
            if v is None:
                continue
            lo, hi = self.indptr[v], self.indptr[v + 1]
            docs, f = self.doc_ids[lo:hi], self.tf[lo:hi]
            out[docs] += self.idf[v] * f * (self.k1 + 1) / (f + self._norm[docs])
        return out

    # -- storage --
    def save(self, path: Path) -> None:
        terms = sorted(self.vocabulary, key=self.vocabulary.get)
        np.savez(path, terms=np.array(terms, dtype=str), indptr=self.indptr, doc_ids=self.doc_ids,
                 tf=self.tf, doc_len=self.doc_len, idf=self.idf, params=np.array([self.k1, self.b]))

    @classmethod
    def load(cls, path: Path) -> "BM25":
        z = np.load(path, allow_pickle=False)
        vocabulary = {str(t): i for i, t in enumerate(z["terms"].tolist())}
        k1, b = (float(x) for x in z["params"])
        return cls(vocabulary, z["indptr"], z["doc_ids"], z["tf"], z["doc_len"], z["idf"], k1, b)

