"""Tokens for BM25 over mixed Chinese and English text.

    tokens("怎样给 KV cache 做量化？")  ->  ["kv", "cache", "量化"]

- Chinese: each run of CJK characters is segmented by jieba in its search mode (`cut_for_search`), which
  yields a word and also its dictionary sub-words (梯度消失 -> 梯度, 消失, 梯度消失), so a paraphrase that
  uses only part of a compound still matches.
- English: lower-cased runs of letters and digits, with a light plural strip (Harman's S-stemmer:
  "-ies" -> "-y", "-es" -> "-e", "-s" -> "") so "models" matches "model".
- A short stop-word list in each language (function words and question words: "how", "the", "怎样", "的").

Fast queries. jieba's full dictionary (350k words) takes ~0.6 s to load, longer than a whole query should.
`Segmenter.restricted(full.dictionary_for(indexed_texts))` keeps only the dictionary words that occur in the
indexed texts, with their frequencies and the full dictionary's total. jieba segments a run of characters by
building a graph of the dictionary words found in it and taking the route of maximum probability
Π freq(w)/total; over an indexed text that graph is the same with either dictionary, so indexed texts are
segmented identically. A query is segmented identically wherever its words occur in the index; only spans
made of words the index has never seen (which score nothing in BM25 anyway) may be split differently.
tests/retrieval/test_text.py checks this on every indexed text.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_SPLIT = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")

STOP_EN = frozenset("""
a an and are as at be been being but by can could did do does doing done for from had has have how i if in into
is it its itself me my of on or our should so than that the their them then there these they this those to
was we were what when where which while who whom why will with would you your yours
""".split())
STOP_ZH = frozenset("""
的 了 是 在 和 与 及 或 也 就 都 而 把 被 让 给 对 从 向 于 以 之 其 这 那 这个 那个 这些 那些 一个 一种 什么 怎样 怎么
如何 为什么 为何 哪些 哪个 吗 呢 吧 啊 呀 有 没有 会 能 可以 要 需要 应该 我 我们 你 你们 他 她 它 他们 它们 中 上 下 等
时 时候 里 个 种 还 又 再 很 更 最 得 地 着 过
""".split())


def stem_en(word: str) -> str:
    """Harman's S-stemmer: the three plural rules only (no aggressive stemming of technical words)."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


class Segmenter:
    """Turns text into BM25 tokens. One instance per jieba dictionary (full, or restricted to a vocabulary)."""

    def __init__(self, jieba_tokenizer=None):
        self._jieba = jieba_tokenizer

    # -- construction --
    @classmethod
    def full(cls, cache_folder=None) -> "Segmenter":
        """jieba's full dictionary (~0.6 s to load). Used to build an index."""
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        if cache_folder is not None:
            tk.tmp_dir = str(cache_folder)  # jieba caches its parsed dictionary here instead of /tmp
        tk.initialize()
        return cls(tk)

    def dictionary_for(self, texts: Iterable[str]) -> dict:
        """{"freq": {word: n}, "total": N}: every word of this segmenter's dictionary that occurs anywhere in
        `texts` (found by jieba's own prefix scan), with the full dictionary's total. Over these texts,
        `restricted(...)` then builds exactly jieba's word graph, so it segments them exactly as this one does."""
        freq = self._jieba.FREQ
        words: dict[str, int] = {}
        for text in texts:
            for run in _CJK_RUN.findall(text.lower()):
                for k in range(len(run)):
                    i = k + 1
                    while i <= len(run) and run[k:i] in freq:  # a prefix that is not in FREQ starts no word
                        if freq[run[k:i]]:
                            words[run[k:i]] = freq[run[k:i]]
                        i += 1
        return {"freq": dict(sorted(words.items())), "total": self._jieba.total}

    @classmethod
    def restricted(cls, dictionary: dict) -> "Segmenter":
        """A segmenter over a restricted dictionary from `dictionary_for` (milliseconds to build)."""
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        prefixes: dict[str, int] = {}
        for word, n in dictionary["freq"].items():  # jieba's gen_pfdict: every prefix of a word is a key (freq 0)
            prefixes[word] = n
            for i in range(1, len(word)):
                prefixes.setdefault(word[:i], 0)
        tk.FREQ, tk.total, tk.initialized = prefixes, int(dictionary["total"]), True
        return cls(tk)

    # -- use --
    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for part in _SPLIT.split(text.lower()):
            if not part:
                continue
            if _CJK_RUN.fullmatch(part):
                out.extend(w for w in self._jieba.cut_for_search(part) if w not in STOP_ZH)
            else:
                out.extend(stem_en(w) for w in _WORD.findall(part) if w not in STOP_EN)
        return out


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None
