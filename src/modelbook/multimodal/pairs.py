"""Paired examples: a handwritten digit (MNIST-5k) with a spoken digit (the speech corpus) and its transcript.

The two halves of a pair share only their label: utterance "七" by voice v is paired with a random image of a 7.
Train pairs use training voices and training images, test pairs unseen voices and unseen images, so a test pair
is new in both modalities. Each utterance is turned into a log-mel spectrogram of fixed length, centred on the
utterance's energy, then pooled in time (a few frames per token), so that every clip becomes the same small grid.

Corruptions used at test time:
    occlude(images, frac)   a random square covering `frac` of the image set to 0 (background)
    add_noise(audio, snr)   white noise at a given SNR in dB, added to the waveform before features
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelbook.core.errors import ModelbookError
from modelbook.speech import features as sf

SAMPLE_RATE = 16_000
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ZH_DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")
_ALIASES = {"oh": 0, "〇": 0, "两": 2, "幺": 1}


def digit_of(text: str) -> int | None:
    """The digit a single-digit transcript names ("7", "seven", "七"), or None for anything else."""
    t = text.strip().lower().rstrip(".!?。")
    if len(t) == 1 and t.isdigit():
        return int(t)
    if t in EN_DIGITS:
        return EN_DIGITS.index(t)
    if t in ZH_DIGITS:
        return ZH_DIGITS.index(t)
    return _ALIASES.get(t)


def mel_powers(clips: list[np.ndarray], n_mels: int = 40, n_fft: int = 400, hop: int = 160) -> list[np.ndarray]:
    """(n_mels, frames) mel power spectrogram of every clip: modelbook.speech.features' STFT power (periodic
    Hann, 25 ms window = n_fft, 10 ms hop, centred) through its Slaney mel filters from 20 Hz, the same numbers as
    librosa.feature.melspectrogram(n_fft=400, hop_length=160, fmin=20) (tests/speech, tests/multimodal)."""
    bank = sf.mel_filterbank(SAMPLE_RATE, n_fft, n_mels, fmin=20.0)
    return [(bank @ sf.power_spectrum(c, n_fft, hop, n_fft)).astype(np.float32) for c in clips]


def log_mel(audio: np.ndarray, n_mels: int = 40, frames: int = 96, pool: int = 4) -> np.ndarray:
    """(n_mels, frames // pool) float32: log mel power (25 ms window, 10 ms hop) over a `frames`-long window
    centred on the clip's energy (zero-padded), mean-pooled over `pool` frames: a fixed grid for every clip."""
    return log_mels([audio], n_mels, frames, pool)[0]


def log_mels(clips: list[np.ndarray], n_mels: int = 40, frames: int = 96, pool: int = 4) -> np.ndarray:
    """(N, n_mels, frames // pool): log_mel of every clip."""
    out = np.zeros((len(clips), n_mels, frames), np.float32)
    for k, mel in enumerate(mel_powers(clips, n_mels)):
        energy = mel.sum(0)
        centre = int(round(float((np.arange(len(energy)) * energy).sum() / max(float(energy.sum()), 1e-12))))
        start = centre - frames // 2
        lo, hi = max(start, 0), min(start + frames, mel.shape[1])
        if hi > lo:
            out[k, :, lo - start:hi - start] = mel[:, lo:hi]
    return np.log(out + 1e-6).reshape(len(clips), n_mels, frames // pool, pool).mean(-1)


def add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """audio + white noise scaled so that 10·log10(P_signal / P_noise) = snr_db."""
    audio = np.asarray(audio, np.float32)
    power = float(np.mean(audio ** 2))
    noise = rng.standard_normal(len(audio)).astype(np.float32)
    return audio + noise * np.float32(np.sqrt(power / 10 ** (snr_db / 10)))


def occlude(images: np.ndarray, frac: float, rng: np.random.Generator) -> np.ndarray:
    """Copies of (N, H, W) images with a random square of area `frac` × H × W set to 0 in each."""
    out = np.array(images, copy=True)
    n, h, w = out.shape
    side = int(round(np.sqrt(frac * h * w)))
    for i in range(n):
        r, c = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        out[i, r:r + side, c:c + side] = 0
    return out


@dataclass
class Pairs:
    """N paired examples. image (N, 28, 28) float32 in [0, 1]; mel (N, n_mels, T) log-mel; the rest (N,) arrays."""

    image: np.ndarray
    mel: np.ndarray
    digit: np.ndarray
    gender: np.ndarray
    """1 = female, 0 = male (the utterance's voice)"""
    language: np.ndarray
    """1 = Mandarin, 0 = English"""
    text: list[str]
    voice: list[str]
    utterance: np.ndarray
    """index of the utterance in the corpus"""

    def __len__(self) -> int:
        return len(self.digit)


def digit_clips(corpus, splits: tuple[str, ...]) -> tuple[list[int], np.ndarray]:
    """(utterance indices, log-mels) of the corpus's single spoken digits in `splits`, features computed once."""
    idx = [i for i, u in enumerate(corpus.items) if u.kind == "digit" and u.split in splits]
    if not idx:
        raise ModelbookError(f"the speech corpus has no single spoken digits in split(s) {', '.join(splits)}: "
                             "build it with kinds including 'digit'")
    return idx, log_mels([corpus.audio(i) for i in idx])


def make_pairs(corpus, clips: list[int], mels: np.ndarray, images: np.ndarray, labels: np.ndarray, n: int,
               rng: np.random.Generator) -> Pairs:
    """`n` pairs: the clips taken in shuffled rounds (each used about n / len(clips) times), each with a random
    image of its digit from (images, labels). mels[k] is clip k's log-mel."""
    by_digit = [np.flatnonzero(labels == d) for d in range(10)]
    rounds = -(-n // len(clips))
    order = np.concatenate([rng.permutation(len(clips)) for _ in range(rounds)])[:n]
    items = [corpus.items[clips[k]] for k in order]
    digits = np.array([digit_of(u.label) for u in items], np.int64)
    if any(len(by_digit[d]) == 0 for d in set(digits.tolist())):
        raise ModelbookError("some spoken digit has no image of the same digit to pair with")
    pick = np.array([rng.choice(by_digit[d]) for d in digits])
    return Pairs(image=images[pick].astype(np.float32) / 255.0, mel=mels[order], digit=digits,
                 gender=np.array([u.gender == "f" for u in items], np.int64),
                 language=np.array([u.language == "zh" for u in items], np.int64),
                 text=[u.text for u in items], voice=[u.voice for u in items], utterance=np.array(clips)[order])
