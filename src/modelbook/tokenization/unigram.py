"""Unigram-LM segmentation (Kudo 2018), written out: the most probable split of a string, by Viterbi.

A unigram model gives every vocabulary piece x a log-probability s(x) and scores a segmentation by the sum:

    best(x_1 … x_n) = argmax over splits into pieces  Σ s(piece)

which dynamic programming solves left to right: best[e] = max over pieces x ending at e of best[start(x)] + s(x).
BPE replays merges in a fixed order and can only reach one split; the unigram model ranks all splits, which is
what makes its subword regularisation (sampling a split) possible. Training (EM over the corpus, pruning the
pieces whose removal costs the likelihood least) is left to SentencePiece (Kudo & Richardson 2018); this module
only reads a trained model's pieces and scores and segments with them.

SentencePiece's conventions, kept so the ids equal `SentencePieceProcessor.encode` (tests/tokenization):
  * the text is normalised first: here the identity rule, spaces shown as '▁' and one '▁' prepended (the
    "dummy prefix", so a word at the start looks like a word after a space);
  * a character with no single-character piece gets the unknown piece, scored min(s) − 10; with byte fallback
    it is then written as its UTF-8 bytes, pieces <0x00> … <0xFF>;
  * scores are summed in float32, and a later candidate replaces an earlier one only when strictly better
    (SentencePiece's EncodeOptimized), so ties go to the candidate that starts earliest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPACE = "\u2581"  # '▁', SentencePiece's visible space
UNK_PENALTY = np.float32(10.0)  # SentencePiece's kUnkPenalty


@dataclass
class UnigramModel:
    """pieces: piece -> (id, log-probability); byte_ids[b]: the id of <0xXX> (empty: no byte fallback)."""

    pieces: dict[str, tuple[int, float]]
    unk_id: int
    byte_ids: dict[int, int]

    def __post_init__(self):
        self.max_len = max(map(len, self.pieces))
        self.unk_score = np.float32(min(s for _, s in self.pieces.values())) - UNK_PENALTY

    @classmethod
    def from_sentencepiece(cls, sp) -> "UnigramModel":
        """Read the normal pieces and their scores from a loaded `sentencepiece.SentencePieceProcessor`."""
        pieces, byte_ids, unk = {}, {}, sp.unk_id()
        for i in range(sp.get_piece_size()):
            if sp.is_byte(i):
                byte_ids[int(sp.id_to_piece(i)[3:5], 16)] = i  # '<0xE4>' -> 0xE4
            elif not (sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)):
                pieces[sp.id_to_piece(i)] = (i, sp.get_score(i))
        return cls(pieces, unk, byte_ids)

    @staticmethod
    def normalize(text: str) -> str:
        """Identity normalisation as SentencePiece applies it: spaces shown as '▁', one '▁' in front (none for '')."""
        return SPACE + text.replace(" ", SPACE) if text else ""

    def segment(self, text: str) -> list[tuple[str, int]]:
        """(piece, id) along the best path over the normalised text; unknown characters carry `unk_id`."""
        s = self.normalize(text)
        n = len(s)
        score = [np.float32(0.0)] * (n + 1)
        back: list[tuple[int, int] | None] = [None] * (n + 1)  # (start, id) of the last piece of the best path
        for start in range(n):
            here, single = score[start], False
            for end in range(start + 1, min(n, start + self.max_len) + 1):
                hit = self.pieces.get(s[start:end])
                if hit is None:
                    continue
                candidate = here + np.float32(hit[1])
                if back[end] is None or candidate > score[end]:
                    score[end], back[end] = candidate, (start, hit[0])
                single |= end == start + 1
            if not single:
                candidate = here + self.unk_score
                if back[start + 1] is None or candidate > score[start + 1]:
                    score[start + 1], back[start + 1] = candidate, (start, self.unk_id)
        out, end = [], n
        while end > 0:
            start, i = back[end]
            out.append((s[start:end], i))
            end = start
        return out[::-1]

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece, i in self.segment(text):
            if i == self.unk_id and self.byte_ids:
                ids.extend(self.byte_ids[b] for b in piece.encode("utf-8"))
            else:
                ids.append(i)
        return ids
