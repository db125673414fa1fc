"""Heuristic quality filters for short user-written texts, in the spirit of Gopher's rules.

Web-scale pipelines drop documents by cheap rules before (or after) deduplication — Rae et al. 2021
(Gopher, appendix A.1.1) keep documents with 50–100,000 words, mean word length 3–10, a symbol-to-word
ratio under 0.1, and few duplicated lines; C4 (Raffel et al. 2020) drops pages without terminal punctuation
or with boilerplate words. Product reviews are one-liners in Chinese, so the rules here are the same ideas
at that scale, measured in characters:

    too_short    fewer than `min_chars` characters after normalisation ("好", "不错")
    repetitive   one character makes up more than `max_char_fraction` of the text ("？？？？？？", "啊啊啊啊")
    few_letters  less than `min_letter_fraction` of the characters are letters (CJK ideographs or Latin/digits
                 count; punctuation, emoji and symbols do not)

    quality_flags(text) -> list of the rules the text breaks (empty list: keep it)
"""
from __future__ import annotations

from collections import Counter

from modelbook.corpus.dedup import normalize


def quality_flags(text: str, min_chars: int = 5, max_char_fraction: float = 0.5, min_letter_fraction: float = 0.5,
                  normalized: bool = False) -> list[str]:
    t = (text if normalized else normalize(text)).replace(" ", "")
    flags = []
    if len(t) < min_chars:
        flags.append("too_short")
    if t and Counter(t).most_common(1)[0][1] / len(t) > max_char_fraction:
        flags.append("repetitive")
    if t and sum(c.isalnum() for c in t) / len(t) < min_letter_fraction:   # str.isalnum is True for CJK ideographs
        flags.append("few_letters")
    return flags
