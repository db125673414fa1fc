"""A hybrid (BM25 + dense) index over any list of documents, saved to and loaded from a folder.

    docs = [Document("33/en/answer", text, {"topic": 33, "lang": "en"}, title="How does attention work?"), ...]
    index = HybridIndex.build(docs, OnnxEncoder())
    index.search("why divide by sqrt d", k=5)                 # -> [Hit(doc, score, rank, bm25_rank, dense_rank)]
    index.search("...", method="bm25" | "dense" | "rrf" | "minmax", where=lambda d: d.metadata["lang"] == "en")

`load_or_build(root, key, make_docs, encoder)` keeps one built index per key under `root` (written to a temp
folder and renamed into place, so a crash never leaves half an index), and removes indexes of other keys.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelbook.core.paths import fsync_dir
from modelbook.retrieval.bm25 import BM25
from modelbook.retrieval.dense import DenseIndex
from modelbook.retrieval.fusion import minmax_fusion, ranking, rrf
from modelbook.retrieval.text import Segmenter

FORMAT = 1
METHODS = ("rrf", "bm25", "dense", "minmax")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    metadata: dict = field(default_factory=dict)
    title: str = ""
    """Counted once by BM25 and put in front of every passage the dense encoder reads."""


@dataclass(frozen=True)
class Hit:
    doc: Document
    score: float
    rank: int
    bm25_rank: int | None    # None: BM25 did not retrieve it (no shared term)
    dense_rank: int | None


class HybridIndex:
    def __init__(self, docs: list[Document], bm25: BM25, dense: DenseIndex | None, dictionary: dict, encoder=None):
        self.docs = docs
        self.bm25 = bm25
        self.dense = dense
        self.dictionary = dictionary
        self.encoder = encoder
        # Queries always go through the restricted segmenter, right after a build as after a load: same tokens.
        self.segmenter = Segmenter.restricted(dictionary)
        self._embeddings: dict[str, np.ndarray] = {}

    @classmethod
    def build(cls, docs: list[Document], encoder, k1: float = 1.5, b: float = 0.75, max_tokens: int = 200,
              embed: Callable[[Document], bool] | None = None, segmenter: Segmenter | None = None) -> "HybridIndex":
        """Tokenise every document for BM25 and embed those that `embed` keeps (default: all) for dense
        retrieval. encoder=None builds a BM25-only index."""
        full = segmenter or Segmenter.full()
        corpus = [full.tokens(f"{d.title}\n{d.text}") for d in docs]
        bm25 = BM25.build(corpus, k1=k1, b=b)
        dense = None
        if encoder is not None:
            keep = [embed(d) for d in docs] if embed else None
            dense = DenseIndex.build([d.title for d in docs], [d.text for d in docs], encoder, max_tokens, keep)
        dictionary = full.dictionary_for(f"{d.title}\n{d.text}" for d in docs)
        return cls(list(docs), bm25, dense, dictionary, encoder)

    # -- search --
    def scores(self, query: str, method: str = "rrf", mask: np.ndarray | None = None,
               use_dense: bool = True) -> tuple[np.ndarray, dict]:
        """(N,) fused or single-retriever scores, and the per-retriever rankings used.

        use_dense=False makes the fused methods fall back to BM25 alone (for queries the encoder cannot read)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if method in ("rrf", "minmax") and not use_dense:
            method = "bm25"
        n = len(self.docs)
        mask = np.ones(n, dtype=bool) if mask is None else mask
        rankings: dict[str, np.ndarray] = {}
        bm25 = dense = None
        if method != "dense":
            bm25 = self.bm25.scores(self.segmenter.tokens(query))
            rankings["bm25"] = ranking(bm25, mask & (bm25 > 0))
        if method != "bm25":
            if self.dense is None or self.encoder is None:
                raise ValueError("this index has no dense part (built or loaded without an encoder)")
            dense = self.dense.scores_for(self._embed(query))
            rankings["dense"] = ranking(dense, mask & np.isfinite(dense))
        if method == "bm25":
            return bm25, rankings
        if method == "dense":
            return dense, rankings
        if method == "rrf":
            return rrf(list(rankings.values()), n), rankings
        return minmax_fusion([bm25, dense], [mask & (bm25 > 0), mask & np.isfinite(dense)]), rankings

    def _embed(self, query: str) -> np.ndarray:
        """The query's embedding, remembered for the last few queries (an evaluation asks each one per method)."""
        cache = self._embeddings
        if query not in cache:
            if len(cache) >= 512:
                cache.clear()
            cache[query] = self.encoder.encode([query])[0]
        return cache[query]

    def rank(self, query: str, method: str = "rrf", where: Callable[[Document], bool] | None = None,
             use_dense: bool = True) -> list[Hit]:
        """Every document that `where` keeps, best first (BM25 alone: only those sharing a term)."""
        mask = np.array([where(d) for d in self.docs], dtype=bool) if where else None
        scores, rankings = self.scores(query, method, mask, use_dense)
        if len(rankings) == 1:  # one retriever (asked for, or the fallback)
            order = next(iter(rankings.values()))
        else:  # fused: every document some retriever returned
            order = ranking(scores, scores > 0)
        position = {name: {int(d): r + 1 for r, d in enumerate(o)} for name, o in rankings.items()}
        return [Hit(self.docs[d], float(scores[d]), r + 1, position.get("bm25", {}).get(int(d)),
                    position.get("dense", {}).get(int(d))) for r, d in enumerate(order)]

    def search(self, query: str, k: int = 10, method: str = "rrf", where=None, use_dense: bool = True) -> list[Hit]:
        return self.rank(query, method, where, use_dense)[:k]

    # -- storage --
    def save(self, folder: Path) -> None:
        """Write the index to `folder` atomically (temp folder, fsync, rename)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
        try:
            docs = [{"id": d.id, "title": d.title, "text": d.text, "metadata": d.metadata} for d in self.docs]
            (tmp / "docs.json").write_text(json.dumps({"format": FORMAT, "docs": docs}, ensure_ascii=False), encoding="utf-8")
            (tmp / "dictionary.json").write_text(json.dumps(self.dictionary, ensure_ascii=False), encoding="utf-8")
            self.bm25.save(tmp / "bm25.npz")
            if self.dense is not None:
                self.dense.save(tmp / "dense.npz")
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            fsync_dir(tmp)
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
            fsync_dir(folder.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, folder: Path, encoder=None) -> "HybridIndex":
        folder = Path(folder)
        data = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"index format {data.get('format')} is not {FORMAT}")
        docs = [Document(d["id"], d["text"], d["metadata"], d["title"]) for d in data["docs"]]
        dictionary = json.loads((folder / "dictionary.json").read_text(encoding="utf-8"))
        dense = DenseIndex.load(folder / "dense.npz") if (folder / "dense.npz").is_file() else None
        return cls(docs, BM25.load(folder / "bm25.npz"), dense, dictionary, encoder)


def load_or_build(root: Path, key: str, make_docs: Callable[[], list[Document]], encoder, **build_args) -> tuple[HybridIndex, bool]:
    """(index, built_now): the index for `key` under `root`, built and saved first if absent or unreadable."""
    root = Path(root)
    folder = root / key
    if (folder / "docs.json").is_file():
        try:
            return HybridIndex.load(folder, encoder), False
        except Exception:  # damaged (or an older format): rebuild below
            pass
    index = HybridIndex.build(make_docs(), encoder, **build_args)
    index.save(folder)
    for other in root.iterdir():  # indexes of other keys are stale; so are temp folders of killed builds
        stale_tmp = other.name.startswith(".tmp-") and time.time() - other.stat().st_mtime > 3600
        if other.is_dir() and other.name != key and (stale_tmp or not other.name.startswith(".tmp-")):
            shutil.rmtree(other, ignore_errors=True)
    return index, True
