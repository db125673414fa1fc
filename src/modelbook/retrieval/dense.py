"""Dense retrieval: cosine similarity between unit-length sentence embeddings.

A sentence encoder reads at most max_seq_length word pieces (256 for MiniLM) and averages them into one
vector, so a long section would be cut off and its meaning diluted. Each document is therefore split into
passages of at most `max_tokens` word pieces (at paragraph, then sentence boundaries), each passage is
embedded with the document's title in front, and a document scores the best of its passages:

    score(D, q) = max_{p ∈ D} ⟨e(q), e(title_D + p)⟩        (e(·) unit vectors, so ⟨·,·⟩ is the cosine)

The encoder is anything with encode(texts) -> (n, d) unit vectors and count_tokens(texts) -> [int].
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?。！？；;])\s+|(?<=[。！？；])")


def split_passages(text: str, count_tokens, max_tokens: int) -> list[str]:
    """Greedy packing of paragraphs (split further into sentences when too long) into passages of ≤ max_tokens.

    A single sentence longer than max_tokens stays one passage (the encoder truncates it)."""
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    pieces: list[str] = []
    for para, size in zip(paragraphs, count_tokens(paragraphs) if paragraphs else []):
        if size <= max_tokens:
            pieces.append(para)
        else:
            pieces.extend(s.strip() for s in _SENTENCES.split(para) if s.strip())
    if not pieces:
        return []
    sizes = count_tokens(pieces)
    passages, current, used = [], [], 0
    for piece, size in zip(pieces, sizes):
        size -= 2  # [CLS] and [SEP] are counted once per passage
        if current and used + size > max_tokens:
            passages.append("\n".join(current))
            current, used = [], 0
        current.append(piece)
        used += size
    passages.append("\n".join(current))
    return passages


class DenseIndex:
    """Passage embeddings (P, d) and the document each passage belongs to (P,)."""

    def __init__(self, embeddings: np.ndarray, passage_doc: np.ndarray, n_docs: int):
        self.embeddings = embeddings
        self.passage_doc = passage_doc
        self.n_docs = n_docs

    @classmethod
    def build(cls, titles: list[str], texts: list[str], encoder, max_tokens: int = 200,
              embed: list[bool] | None = None) -> "DenseIndex":
        """embed[d] False leaves document d out (no passages; it scores -inf and is never retrieved)."""
        inputs, owner = [], []
        for d, (title, text) in enumerate(zip(titles, texts)):
            if embed is not None and not embed[d]:
                continue
            budget = max_tokens - (encoder.count_tokens([title])[0] if title else 0)
            for passage in split_passages(text, encoder.count_tokens, max(budget, 32)) or [""]:
                inputs.append(f"{title}\n{passage}".strip())
                owner.append(d)
        embeddings = encoder.encode(inputs)
        return cls(embeddings.astype(np.float32), np.array(owner, dtype=np.int32), len(texts))

    def scores_for(self, query_embedding: np.ndarray) -> np.ndarray:
        """(N,) best passage cosine per document (-inf for documents without passages)."""
        sims = self.embeddings @ query_embedding.astype(np.float32)   # (P,)
        out = np.full(self.n_docs, -np.inf, dtype=np.float64)
        np.maximum.at(out, self.passage_doc, sims)
        return out

    def save(self, path: Path) -> None:
        np.savez(path, embeddings=self.embeddings, passage_doc=self.passage_doc, n_docs=np.array(self.n_docs))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        z = np.load(path, allow_pickle=False)
        return cls(z["embeddings"], z["passage_doc"], int(z["n_docs"]))
