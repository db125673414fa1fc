"""Chunking the handbook's own text for retrieval: where the cuts fall decides what a retriever can find.

Strategies (sizes in words; the handbook's English entries, markdown stripped of the {{lab:metric}} quotes):

    fixed      windows of `size` words, cut wherever the count falls (mid-sentence, mid-list)
    overlap    windows of `size` words every size/2 words: each sentence is whole in at least one window,
               at twice the chunks
    sentence   whole sentences packed greedily up to `size` words
    section    one chunk per markdown section (## heading), split at sentences if over 2·size words
    titled     `section`, with the entry's title in front of every chunk ("contextual chunk headers"):
               a chunk of the follow-ups no longer loses which topic it is about

Each chunk keeps the topic it came from; recall@k counts a question answered when its topic is among the
first k distinct topics of the ranked chunks (modelbook.retrieval.evaluate), the same unit `modelbook ask`
is scored on. Retrieval itself (BM25, MiniLM, reciprocal-rank fusion) is modelbook.retrieval's HybridIndex.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

STRATEGIES = ("fixed", "overlap", "sentence", "section", "titled")
_QUOTE = re.compile(r"\{\{[a-z0-9-]+:[^}]*\}\}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\"(`-])")
_SECTION = re.compile(r"^## ", re.M)


@dataclass(frozen=True)
class Chunk:
    topic: int
    title: str
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


CORPUS_TOPICS = tuple(range(1, 45))
"""the entries the corpus is drawn from: topics 1-44, the ones `modelbook ask`'s evaluation questions cover"""


def english_entries(topic_ids=CORPUS_TOPICS) -> list[tuple[int, str, str]]:
    """(topic, title, English markdown) of the written handbook entries among `topic_ids` (aliases skipped).
    Each file is read on its own, so an entry being edited elsewhere cannot break the corpus."""
    from modelbook.handbook.loader import TOPICS_DIR, parse

    out = []
    for n in topic_ids:
        for path in sorted(TOPICS_DIR.glob(f"{n:02d}-*.md")):
            t = parse(path.read_text(encoding="utf-8"), path)
            if not t.alias_of:
                out.append((t.id, t.title["en"], _QUOTE.sub("…", t.markdown("en"))))
    return out


def sentences(text: str) -> list[str]:
    parts = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if para:
            parts.extend(s for s in _SENTENCE.split(para) if s)
    return parts


def _pack(pieces: list[str], size: int) -> list[str]:
    out, cur, used = [], [], 0
    for p in pieces:
        n = len(p.split())
        if cur and used + n > size:
            out.append(" ".join(cur))
            cur, used = [], 0
        cur.append(p)
        used += n
    if cur:
        out.append(" ".join(cur))
    return out


def chunk(text: str, strategy: str, size: int) -> list[str]:
    """The chunks of one entry's text under `strategy` (see the module docstring)."""
    if strategy in ("fixed", "overlap"):
        words = text.split()
        step = size if strategy == "fixed" else max(1, size // 2)
        return [" ".join(words[i:i + size]) for i in range(0, max(1, len(words) - (size - step)), step)]
    if strategy == "sentence":
        return _pack(sentences(text), size)
    if strategy in ("section", "titled"):
        out = []
        for sec in _SECTION.split(text):
            sec = sec.strip()
            if not sec:
                continue
            out.extend([" ".join(sec.split())] if len(sec.split()) <= 2 * size else _pack(sentences(sec), size))
        return out
    raise ValueError(f"unknown chunking strategy {strategy!r}; one of {STRATEGIES}")


def chunk_entries(entries, strategy: str, size: int) -> list[Chunk]:
    out = []
    for topic, title, text in entries:
        for c in chunk(text, strategy, size):
            out.append(Chunk(topic, title if strategy == "titled" else "", c))
    return out
