"""A token n-gram language model with Witten-Bell interpolation, for shallow fusion in CTC beam search.

p(w | h) = λ_h · c(h, w) / c(h) + (1 − λ_h) · p(w | h′), with h′ the history one token shorter and
λ_h = c(h) / (c(h) + t(h)), t(h) the number of distinct tokens seen after h (Witten & Bell 1991): a history
followed by many different tokens keeps more mass for the shorter one. The unigram level backs off to uniform
over the vocabulary plus the end-of-sentence token, so no token has probability zero.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

BOS, EOS = -2, -1


class NGram:
    def __init__(self, sentences: Iterable[Sequence[int]], vocab_size: int, order: int = 3):
        if order < 1:
            raise ValueError("order must be >= 1")
        self.order, self.vocab_size = order, vocab_size
        self.counts: dict[tuple, Counter] = defaultdict(Counter)
        for s in sentences:
            seq = [BOS] * (order - 1) + list(s) + [EOS]
            for i in range(order - 1, len(seq)):
                for k in range(order):  # every history length 0 .. order-1
                    self.counts[tuple(seq[i - k: i])][seq[i]] += 1
        self._cache: dict[tuple, float] = {}

    def prob(self, history: Sequence[int], token: int) -> float:
        h = tuple(history)[-(self.order - 1):] if self.order > 1 else ()
        h = (BOS,) * (self.order - 1 - len(h)) + h if self.order > 1 else ()
        key = (h, token)
        if key not in self._cache:
            p = 1.0 / (self.vocab_size + 1)  # uniform over tokens and EOS
            for k in range(0, self.order):
                c = self.counts.get(h[len(h) - k:] if k else ())
                if not c:
                    continue
                n, types = sum(c.values()), len(c)
                lam = n / (n + types)
                p = lam * c[token] / n + (1 - lam) * p
            self._cache[key] = p
        return self._cache[key]

    def __call__(self, prefix: Sequence[int], token: int) -> float:
        """log p(token | prefix); token = EOS (-1) for the end of the sentence (the ctc.LM interface)."""
        return math.log(self.prob(prefix, token))

    def log_prob(self, sentence: Sequence[int]) -> float:
        s = list(sentence)
        return sum(self(s[:i], w) for i, w in enumerate(s + [EOS]))

    def perplexity(self, sentences: Iterable[Sequence[int]]) -> float:
        total, n = 0.0, 0
        for s in sentences:
            total += self.log_prob(s)
            n += len(s) + 1
        return math.exp(-total / max(n, 1))
