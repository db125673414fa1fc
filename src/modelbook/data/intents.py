"""Intent recognition data: the opening user utterance of each chatterbot-corpus English conversation, labelled
with its topic file (trivia, coding, emotion, ...): real questions, strongly imbalanced (261 trivia vs 8 history)."""
from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from modelbook.data.card import DataCard
from modelbook.data.dialogue import chatterbot_conversations

if TYPE_CHECKING:
    import numpy as np


def chatterbot_intents(min_per_class: int = 8) -> tuple[list[str], "np.ndarray", list[str], DataCard]:
    """(texts, labels, class names, card). The opening utterances are deduplicated (tech_support repeats ten
    questions 105 times each); an utterance found under two topics ("Hello": greetings and conversations) is
    dropped as ambiguous; topics with fewer than `min_per_class` distinct utterances are left out."""
    import numpy as np

    topics: dict[str, set[str]] = {}
    for topic, conv in chatterbot_conversations():
        if conv and conv[0].strip():
            topics.setdefault(conv[0].strip(), set()).add(topic)
    unique = {text: next(iter(t)) for text, t in topics.items() if len(t) == 1}
    counts = collections.Counter(unique.values())
    classes = sorted(c for c, n in counts.items() if n >= min_per_class)
    index = {c: i for i, c in enumerate(classes)}
    texts = sorted(t for t, c in unique.items() if c in index)
    labels = np.array([index[unique[t]] for t in texts], dtype=np.int64)
    card = DataCard("chatterbot-corpus English intents (opening utterances)", "chatterbot-corpus 1.3.3 data/english/*.yml",
                    "BSD-3-Clause", len(texts))
    return texts, labels, classes, card
