"""Test-set contamination: find benchmark items whose text occurs in a training corpus, by n-gram overlap.

GPT-3 (Brown et al. 2020, appendix C) flagged a test item as contaminated when any of its n-grams (13 words,
fewer for short items) also occurs in the training data, after normalising case and punctuation; lm-evaluation-
harness's decontamination tool uses 13-grams the same way. Normalising matters: a leaked item rarely appears
byte for byte, since web pages change case, spacing and punctuation.

    words = normalise(text)                 lower-case words; every CJK character is a word of its own
    index = NgramIndex(corpus_words, n)     every n-gram of the corpus, and every shorter run for short items
    index.overlap(words)                    share of the item's n-grams found (the whole item if it is shorter)

`leak` builds the controlled experiment: a corpus with a chosen subset of items pasted in, re-cased and
re-spaced the way scraped text is, so that the detector's flags can be scored against the truth.
`NgramScorer` is the model such a corpus produces at its crudest (a word n-gram LM with stupid backoff,
Brants et al. 2007): scored by the same harness, it shows what contamination does to a benchmark number.
"""
from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+")


def normalise(text: str) -> list[str]:
    """Lower-case words (letters and digits); punctuation and spacing dropped; each CJK character a word."""
    return _WORD.findall(text.lower())


class NgramIndex:
    def __init__(self, words: list[str], n: int):
        self.n = n
        self.words = words
        self._grams: dict[int, set] = {}

    def grams(self, k: int) -> set:
        if k not in self._grams:
            self._grams[k] = {tuple(self.words[i:i + k]) for i in range(len(self.words) - k + 1)}
        return self._grams[k]

    def overlap(self, words: list[str]) -> float:
        """Share of the item's n-grams present in the corpus; an item shorter than n counts as one gram."""
        k = min(self.n, len(words))
        if k == 0:
            return 0.0
        mine = [tuple(words[i:i + k]) for i in range(len(words) - k + 1)]
        have = self.grams(k)
        return sum(g in have for g in mine) / len(mine)


def flag(texts: list[str], corpus: str, n: int) -> np.ndarray:
    """(n_items,) overlap share per item text; GPT-3's rule flags an item when it is > 0."""
    index = NgramIndex(normalise(corpus), n)
    return np.array([index.overlap(normalise(t)) for t in texts])


def flag_brute_force(texts: list[str], corpus: str, n: int) -> np.ndarray:
    """The same flags by plain substring search of each n-gram in the normalised corpus string (no index)."""
    hay = " " + " ".join(normalise(corpus)) + " "
    out = []
    for t in texts:
        w = normalise(t)
        k = min(n, len(w))
        out.append(any(" " + " ".join(w[i:i + k]) + " " in hay for i in range(len(w) - k + 1)) if k else False)
    return np.array(out)


def _scrape(text: str, rng: np.random.Generator) -> str:
    """The item as a web page might carry it: upper-cased or title-cased, doubled spaces, a trailing mark."""
    style = int(rng.integers(3))
    text = text.upper() if style == 0 else text.title() if style == 1 else text
    text = re.sub(" ", lambda _: "  " if rng.random() < 0.3 else " ", text)
    return text + ("" if rng.random() < 0.5 else " !")


def leak(base: str, texts: list[str], rng: np.random.Generator) -> str:
    """`base` with every text of `texts` pasted in at a random line break, in scraped form."""
    lines = base.split("\n")
    at = np.sort(rng.integers(0, len(lines) + 1, size=len(texts)))
    order = rng.permutation(len(texts))
    out, prev = [], 0
    for pos, k in zip(at, order):
        out.extend(lines[prev:pos])
        out.append(_scrape(texts[int(k)], rng))
        prev = pos
    out.extend(lines[prev:])
    return "\n".join(out)


class NgramScorer:
    """A word n-gram LM trained on a corpus, scored with stupid backoff (Brants et al. 2007): S(w | h) = c(h w)/c(h)
    when the n-gram was seen, else 0.4 · S(w | shorter h), down to add-one unigrams. Not normalised, so a ranking
    score, which is all a multiple-choice harness needs."""

    BACKOFF = 0.4

    def __init__(self, corpus: str, order: int = 5):
        words = normalise(corpus)
        self.order = order
        self.counts = Counter(tuple(words[i:i + k]) for k in range(1, order + 1) for i in range(len(words) - k + 1))
        self.total, self.vocab = len(words), len({w for w in words})

    def _score(self, history: tuple, w: str) -> float:
        penalty = 1.0
        for k in range(min(len(history), self.order - 1), 0, -1):
            h = history[-k:]
            if self.counts.get(h + (w,), 0):
                return penalty * self.counts[h + (w,)] / self.counts[h]
            penalty *= self.BACKOFF
        return penalty * (self.counts.get((w,), 0) + 1) / (self.total + self.vocab)

    def sentence_logscore(self, text: str) -> float:
        words = normalise(text)
        return sum(math.log(self._score(tuple(words[:i]), w)) for i, w in enumerate(words))
