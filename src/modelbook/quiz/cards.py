"""The cards: one per topic question and one per follow-up question, in each language.

A question card shows the entry's question and, on the back, its two-minute answer; a follow-up card shows
the follow-up question and its answer. Entries that are still drafts (question only) have no answer yet and
give no card. A card is identified by a key that survives edits elsewhere in the entry:

    33/en/question                 the topic's question
    33/zh/followup/3f9a0c1e        a follow-up, by a hash of its question text (editing the question makes
                                   it a new card; editing the answer keeps the card and its schedule)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from modelbook.handbook.loader import LANGS, all_topics


@dataclass(frozen=True)
class Card:
    key: str
    topic: int
    lang: str
    kind: str      # "question" or "followup"
    front: str     # Markdown
    back: str      # Markdown (may quote {{lab:metric}} values, filled when shown)
    title: str     # the topic's title in the card's language


def followup_key(topic: int, lang: str, question: str) -> str:
    digest = hashlib.sha1(" ".join(question.split()).encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{topic}/{lang}/followup/{digest}"


def all_cards(langs: tuple[str, ...] = LANGS, topics: set[int] | None = None) -> list[Card]:
    """Every card of the written entries, in topic order (question first, then its follow-ups)."""
    cards: list[Card] = []
    for t in all_topics():
        if t.alias_of or (topics is not None and t.id not in topics):
            continue
        for lang in langs:
            sections = t.sections.get(lang, {})
            question, answer = sections.get("question", "").strip(), sections.get("answer", "").strip()
            if question and answer:
                cards.append(Card(f"{t.id}/{lang}/question", t.id, lang, "question", question, answer, t.title[lang]))
            for q, a in t.followups(lang):
                if q and a:
                    cards.append(Card(followup_key(t.id, lang, q), t.id, lang, "followup", q, a, t.title[lang]))
    return cards


def card_id(key: str) -> int:
    """A stable integer id for a key (FSRS cards and Anki notes want integers)."""
    return int(hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:12], 16)
