"""Voice activity detection with Silero VAD (a small pretrained network shipped in the `silero-vad` wheel, ONNX),
scored against known truth: speech padded with silence and background noise of known length.

Silero scores 32 ms chunks (512 samples at 16 kHz) with a recurrent network; `get_speech_timestamps` turns the
scores into segments with hysteresis (start above 0.5, end below 0.35), a minimum silence of 100 ms to split and
30 ms of padding on each side of every segment.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from modelbook.core.errors import ModelbookError, missing_package
from modelbook.speech import augment

FRAME_S = 0.01  # truth and predictions are compared on 10 ms frames


@dataclass(frozen=True)
class Padded:
    audio: np.ndarray
    start: float  # seconds where the speech begins and ends
    end: float


def pad_with_noise(speech: np.ndarray, rng: np.random.Generator, sample_rate: int = 16000, pad_s=(0.4, 1.0),
                   snr_db: float = 20.0, noise: str = "pink") -> Padded:
    """Silence of random length each side, then background noise over the whole clip at `snr_db` below the speech."""
    before, after = (int(rng.uniform(*pad_s) * sample_rate) for _ in range(2))
    clip = np.concatenate([np.zeros(before, np.float32), speech.astype(np.float32), np.zeros(after, np.float32)])
    p_speech = float(np.mean(speech.astype(np.float64) ** 2))
    bg = augment.coloured_noise(noise, len(clip), rng) * np.sqrt(p_speech / 10 ** (snr_db / 10))
    return Padded((clip + bg).astype(np.float32), before / sample_rate, (before + len(speech)) / sample_rate)


@lru_cache(maxsize=1)
def silero():
    try:
        from silero_vad import load_silero_vad
    except ImportError:
        raise missing_package("silero_vad", "silero-vad onnxruntime") from None
    return load_silero_vad(onnx=True)


def detect(audio: np.ndarray, sample_rate: int = 16000, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Speech segments (start, end) in seconds, by Silero VAD."""
    import torch
    from silero_vad import get_speech_timestamps

    if sample_rate not in (8000, 16000):
        raise ModelbookError(f"Silero VAD takes 8 or 16 kHz audio, not {sample_rate}")
    model = silero()
    model.reset_states()
    ts = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(audio, np.float32)), model,
                               sampling_rate=sample_rate, threshold=threshold)
    return [(t["start"] / sample_rate, t["end"] / sample_rate) for t in ts]


def frames(segments: list[tuple[float, float]], seconds: float) -> np.ndarray:
    """A boolean mask over 10 ms frames: True where a frame's centre lies inside a segment."""
    centres = (np.arange(int(round(seconds / FRAME_S))) + 0.5) * FRAME_S
    mask = np.zeros(len(centres), bool)
    for a, b in segments:
        mask |= (centres >= a) & (centres < b)
    return mask


def energy_vad(audio: np.ndarray, sample_rate: int = 16000, above_floor_db: float = 9.0) -> list[tuple[float, float]]:
    """A baseline: 10 ms frames whose energy is `above_floor_db` over the quietest decile, gaps < 100 ms bridged."""
    hop = int(FRAME_S * sample_rate)
    e = 10 * np.log10(np.mean(audio[: len(audio) // hop * hop].reshape(-1, hop).astype(np.float64) ** 2, 1) + 1e-12)
    on = e > np.percentile(e, 10) + above_floor_db
    idx = np.flatnonzero(on)
    if len(idx) == 0:
        return []
    segs, a, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i - prev > 10:
            segs.append((a * FRAME_S, (prev + 1) * FRAME_S))
            a = i
        prev = i
    segs.append((a * FRAME_S, (prev + 1) * FRAME_S))
    return segs
