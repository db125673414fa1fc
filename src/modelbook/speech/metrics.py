"""Error rates, equal error rate and frame F1, from scratch (cross-checked against jiwer and scikit-learn).

WER = (substitutions + deletions + insertions) / reference words, summed over the whole test set (not averaged
per utterance), from the Levenshtein alignment of each hypothesis to its reference; CER the same on characters.
EER: the operating point where the false-accept rate (impostor pairs scored above the threshold) equals the
false-reject rate (same-speaker pairs below it).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (unit cost for substitution, deletion, insertion), one row at a time."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Word error rate over a set of transcripts (words split on whitespace)."""
    if len(refs) != len(hyps):
        raise ValueError("refs and hyps differ in length")
    edits = sum(edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps))
    return edits / max(1, sum(len(r.split()) for r in refs))


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Character error rate over a set of transcripts (every character counts, spaces included)."""
    if len(refs) != len(hyps):
        raise ValueError("refs and hyps differ in length")
    return sum(edit_distance(r, h) for r, h in zip(refs, hyps)) / max(1, sum(len(r) for r in refs))


def eer(scores: np.ndarray, same: np.ndarray) -> float:
    """Equal error rate: sweep the threshold over every score; where FAR and FRR cross, their mean."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    if same.all() or not same.any():
        raise ValueError("EER needs both same-speaker and different-speaker pairs")
    thresholds = np.unique(scores)[::-1]  # accept when score >= threshold
    far = np.array([(scores[~same] >= t).mean() for t in thresholds])
    frr = np.array([(scores[same] < t).mean() for t in thresholds])
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2)


def frame_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """F1 of the speech class over frames (boolean masks)."""
    truth, pred = np.asarray(truth, bool), np.asarray(pred, bool)
    tp = int((truth & pred).sum())
    return 2 * tp / max(1, int(truth.sum() + pred.sum()))
