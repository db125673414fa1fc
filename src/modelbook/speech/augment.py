"""Making clean synthetic speech sound recorded: coloured noise mixed at a chosen SNR, and a simple room.

The room is a synthetic impulse response: a direct path followed by an exponentially decaying noise tail whose
energy falls by 60 dB in RT60 seconds (the statistical model of late reverberation; real rooms add distinct
early reflections). Convolving dry speech with it smears each sound into the next, which is what makes
reverberant speech hard for a recogniser trained on dry speech.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

NOISES = ("white", "pink", "brown")


def coloured_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise of `n` samples with a 1/f^0 (white), 1/f (pink) or 1/f^2 (brown) power spectrum."""
    if kind not in NOISES:
        raise ValueError(f"unknown noise {kind!r}; choose from {', '.join(NOISES)}")
    white = rng.standard_normal(n)
    if kind == "white" or n < 2:
        return white.astype(np.float32)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spec /= f ** (0.5 if kind == "pink" else 1.0)  # amplitude ~ f^-1/2 gives power ~ 1/f
    x = np.fft.irfft(spec, n)
    x -= x.mean()
    return (x / (x.std() + 1e-12)).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so that 10·log10(P_speech / P_noise) = snr_db (powers over the whole clip)."""
    p_s = float(np.mean(speech.astype(np.float64) ** 2))
    p_n = float(np.mean(noise.astype(np.float64) ** 2)) + 1e-20
    scale = np.sqrt(p_s / (p_n * 10.0 ** (snr_db / 10.0)))
    return (speech + scale * noise).astype(np.float32)


def room_impulse_response(rt60: float, sample_rate: int, rng: np.random.Generator, wet: float = 0.5) -> np.ndarray:
    """Direct path (1.0) then a noise tail decaying 60 dB over `rt60` s; `wet` is the tail's energy relative to it."""
    n = max(2, int(rt60 * sample_rate))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60)  # amplitude -60 dB at t = rt60
    tail[: int(0.002 * sample_rate)] = 0.0  # first reflections arrive a few ms after the direct sound
    tail *= np.sqrt(wet / (np.sum(tail ** 2) + 1e-12))
    tail[0] = 1.0
    return tail.astype(np.float32)


def reverberate(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with the room, keep the original length, and keep the peak level of the dry speech."""
    wet = fftconvolve(speech, rir)[: len(speech)]
    peak = float(np.max(np.abs(wet))) + 1e-12
    return (wet * (float(np.max(np.abs(speech))) / peak)).astype(np.float32)
