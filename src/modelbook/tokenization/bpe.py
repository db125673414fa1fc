"""Byte-level BPE, written out: the byte alphabet, the GPT-2 pre-tokenizer, merge training and encoding.

    text ──pre-tokenize──▶ pieces ──UTF-8 bytes──▶ one symbol per byte ──merges, lowest rank first──▶ token ids

Training (Sennrich et al. 2016, §3.2, on bytes as in GPT-2, Radford et al. 2019, §2.2): count every pre-tokenized
word once per occurrence, split each word into its byte symbols, then repeat until the vocabulary is full:
take the most frequent adjacent pair of symbols, add their concatenation as a new token, record the merge, and
replace the pair in every word that holds it. Encoding replays the merges on a new word in the order they were
learned (the merge's *rank*), which reproduces what training did to the same word. Decoding concatenates the
tokens' bytes and decodes UTF-8 once at the end: a token may hold part of a character (a CJK character is three
bytes), so decoding token by token and joining would break characters that straddle two tokens.

Why bytes: 256 base symbols cover every string, so nothing is ever out of vocabulary and
decode(encode(x)) == x for any Unicode x (no normaliser runs). GPT-2 shows each byte as a printable character
(`bytes_to_unicode`) so that tokens are ordinary strings: the space byte is 'Ġ', the newline 'Ċ'.

Why a pre-tokenizer: merges never cross the pieces of the GPT-2 pattern (contractions, letter runs, number runs,
punctuation runs, whitespace), so a token never glues a word to the punctuation after it. Letters are \\p{L}:
a run of Chinese characters with no space or punctuation in it is one piece, and BPE then learns merges
inside it (characters and frequent words). With `split_digits=True` every digit is a piece of its own first
(tokenizers' Digits(individual_digits=True), the choice of PaLM and Llama), so no token ever holds two digits.

Equal to Hugging Face `tokenizers` (BpeTrainer with ByteLevel.alphabet(), the ByteLevel pre-tokenizer without
a prefix space, the BPE model and ByteLevel decoder), merge for merge, because the rules below are theirs:
  * ids: special tokens first, then the 256 byte symbols sorted by code point, then merged tokens in order;
  * the pair to merge is the most frequent; among equal counts the smallest (left id, right id);
  * pair counts are updated incrementally, per word that changed, and a pair's stored count is refreshed only
    when it comes to the top of the queue (tokenizers' lazy priority queue); its own count is not cleared when
    it is merged, so a pair whose occurrences were queued in two batches can be merged twice (a duplicate
    merge: same token, no new id). Encoding then uses the later rank, as tokenizers' merge map does;
  * encoding merges the lowest rank first and, among equal ranks, the leftmost pair first.
The one difference is in the regex engines' Unicode tables: `regex` 2026.12.2 knows Unicode 17, tokenizers'
Oniguruma Unicode 16, so among code points that Unicode 14 (Python 3.11's tables) leaves unassigned, 17,144 are
letters and 336 numbers to one engine and not to the other; on every assigned code point the two agree.
Checked merge for merge and id for id in tests/tokenization/test_bpe.py (corpora, random small corpora with many
ties, any assigned Unicode), and the classification of every assigned code point.
"""
from __future__ import annotations

import functools
import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import regex

# GPT-2's pre-tokenizer pattern (openai/gpt-2 src/encoder.py), as tokenizers' ByteLevel uses it
GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
DIGIT = regex.compile(r"(\p{N})")  # every numeric character (Nd, Nl, No), as Rust's char::is_numeric


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """Byte -> a printable character: bytes that already print as themselves keep their code point; the other
    68 (controls, space, 0x7F-0xA0, 0xAD) are moved to 256 + n in byte order. GPT-2's `bytes_to_unicode`."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table, n = {b: chr(b) for b in keep}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return table


@functools.lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def pre_tokenize(text: str, split_digits: bool = False) -> list[str]:
    """Split `text` into the pieces BPE never merges across (their concatenation is `text`)."""
    parts = [p for p in DIGIT.split(text) if p] if split_digits else [text]
    return [m.group() for part in parts for m in GPT2_PATTERN.finditer(part)]


def to_byte_symbols(piece: str) -> str:
    """A piece of text as its UTF-8 bytes, one printable character per byte ("é" -> "Ã©", " " -> "Ġ")."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in piece.encode("utf-8"))


@dataclass
class ByteLevelBPE:
    """A trained byte-level BPE: `vocab[id]` is the token in byte symbols; `merges[rank]` = ((left, right), new_id)."""

    vocab: list[str]
    merges: list[tuple[tuple[int, int], int]]
    split_digits: bool = False
    _ranks: dict = field(init=False, repr=False)
    _ids: dict = field(init=False, repr=False)
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        self._ids = {t: i for i, t in enumerate(self.vocab)}
        # a pair merged twice keeps its later rank, as a dict built in rank order does (tokenizers' merge map)
        self._ranks = {pair: (rank, new) for rank, (pair, new) in enumerate(self.merges)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def merge_pairs(self) -> list[tuple[str, str]]:
        """The merges as token strings, in rank order, each pair once (its last rank), as tokenizers saves them."""
        ordered = sorted(self._ranks.items(), key=lambda item: item[1][0])
        return [(self.vocab[a], self.vocab[b]) for (a, b), _ in ordered]

    def _merge_word(self, word: str) -> list[int]:
        """Apply the merges to one pre-tokenized word (in byte symbols): lowest rank first, leftmost first.

        The symbols form a linked list; a heap holds (rank, position, new id) for every adjacent pair that has a
        merge. An entry is stale when its position was absorbed or its pair changed since it was pushed."""
        c = [self._ids[ch] for ch in word]
        n = len(c)
        nxt, prv, alive = list(range(1, n + 1)), list(range(-1, n - 1)), [True] * n
        nxt[-1] = -1
        heap = [(r[0], i, r[1]) for i in range(n - 1) if (r := self._ranks.get((c[i], c[i + 1])))]
        heapq.heapify(heap)
        while heap:
            _, pos, new = heapq.heappop(heap)
            if not alive[pos] or nxt[pos] == -1:
                continue
            right = nxt[pos]
            now = self._ranks.get((c[pos], c[right]))
            if now is None or now[1] != new:  # stale: this position holds another pair now
                continue
            c[pos], alive[right], nxt[pos] = new, False, nxt[right]
            if nxt[pos] != -1:
                prv[nxt[pos]] = pos
            if prv[pos] >= 0 and (r := self._ranks.get((c[prv[pos]], c[pos]))):
                heapq.heappush(heap, (r[0], prv[pos], r[1]))
            if nxt[pos] != -1 and (r := self._ranks.get((c[pos], c[nxt[pos]]))):
                heapq.heappush(heap, (r[0], pos, r[1]))
        return [c[i] for i in range(n) if alive[i]]

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in pre_tokenize(text, self.split_digits):
            word = to_byte_symbols(piece)
            if word not in self._cache:
                self._cache[word] = self._merge_word(word)
            ids.extend(self._cache[word])
        return ids

    def tokens(self, text: str) -> list[str]:
        return [self.vocab[i] for i in self.encode(text)]

    def token_bytes(self, i: int) -> bytes:
        back = unicode_to_bytes()
        return bytes(back[ch] for ch in self.vocab[i])

    def decode(self, ids: Iterable[int]) -> str:
        """Concatenate the tokens' bytes, then decode UTF-8 once (an invalid sequence becomes U+FFFD, as in
        tokenizers' ByteLevel decoder; encode's output always decodes exactly)."""
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")


def count_words(texts: Iterable[str], split_digits: bool = False) -> Counter:
    """Pre-tokenized words in byte symbols, with how often each occurs in `texts` (each text split on its own)."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(to_byte_symbols(p) for p in pre_tokenize(text, split_digits))
    return counts


def _merge_in_word(w: list[int], a: int, b: int, new: int) -> list[tuple[tuple[int, int], int]]:
    """Replace every (a, b) in `w`, left to right without overlap ('a a a' -> 'aa a'), in place; return the
    changes to neighbouring pair counts (the pair itself is not among them: see the module docstring)."""
    changes = []
    i = -1
    while True:
        try:
            i = w.index(a, i + 1)  # the next `a` (a C-level scan: long Chinese words make a Python loop slow)
        except ValueError:
            return changes
        if i + 1 < len(w) and w[i + 1] == b:
            if i > 0:
                changes += [((w[i - 1], a), -1), ((w[i - 1], new), 1)]
            w[i:i + 2] = [new]
            if i < len(w) - 1:
                changes += [((b, w[i + 1]), -1), ((new, w[i + 1]), 1)]


def train_bpe(texts: Iterable[str], vocab_size: int, split_digits: bool = False,
              special_tokens: tuple[str, ...] = ()) -> ByteLevelBPE:
    """Learn merges on `texts` until the vocabulary holds `vocab_size` tokens (or no pair occurs any more)."""
    word_counts = count_words(texts, split_digits)
    vocab = list(special_tokens) + sorted(bytes_to_unicode().values(), key=ord)
    ids = {t: i for i, t in enumerate(vocab)}
    words = [[ids[ch] for ch in w] for w in word_counts]
    counts = list(word_counts.values())

    pair_counts: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for i, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pair_counts[pair] += counts[i]
            where.setdefault(pair, set()).add(i)
    # max-heap on (count, then the smaller pair first): heapq is a min-heap, so the count is negated
    queue: list = []
    order = 0  # a unique tie-breaker, so that entries never compare their position sets

    def push_all(batch: dict[tuple[int, int], set[int]]) -> None:
        nonlocal order
        for pair, positions in batch.items():
            if pair_counts[pair] > 0:
                heapq.heappush(queue, (-pair_counts[pair], pair, order, positions))
                order += 1

    push_all(where)
    merges: list[tuple[tuple[int, int], int]] = []
    while len(ids) < vocab_size and queue:
        neg_count, pair, _, positions = heapq.heappop(queue)
        if -neg_count != pair_counts[pair]:  # stale count: refresh and queue it again
            heapq.heappush(queue, (-pair_counts[pair], pair, order, positions))
            order += 1
            continue
        if -neg_count < 1:
            break
        a, b = pair
        token = vocab[a] + vocab[b]
        if token not in ids:
            ids[token] = len(vocab)
            vocab.append(token)
        new = ids[token]
        merges.append((pair, new))
        created: dict[tuple[int, int], set[int]] = {}
        for i in positions:
            for changed, delta in _merge_in_word(words[i], a, b, new):
                pair_counts[changed] += delta * counts[i]
                if delta > 0:
                    created.setdefault(changed, set()).add(i)
        push_all(created)
    return ByteLevelBPE(vocab, merges, split_digits)
