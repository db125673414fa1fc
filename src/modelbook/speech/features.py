"""Log-mel spectrogram and MFCC from scratch (NumPy), the same numbers as librosa's defaults.

Pipeline: frame the waveform (n_fft samples every hop, centred: n_fft/2 zeros padded each side), multiply by a
periodic Hann window, |FFT|² (power spectrum) → a bank of triangular filters evenly spaced on the mel scale
(Slaney's: linear below 1 kHz, logarithmic above; each filter normalised to unit area) → 10·log10 (dB, floored
at amin and at top_db below the loudest bin) → for MFCC, an orthonormal DCT-II across the mel bins, keeping
the first n_mfcc coefficients (a smooth summary of the spectral envelope, i.e. of the vocal tract's formants).
"""
from __future__ import annotations

import numpy as np


def hann(n: int) -> np.ndarray:
    """Periodic Hann window (the one FFT analysis uses; scipy.signal.get_window('hann', n))."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float64)


def power_spectrum(x: np.ndarray, n_fft: int = 512, hop: int = 160, win_length: int = 400) -> np.ndarray:
    """|STFT|², shape (n_fft // 2 + 1, frames); frames centred on t·hop (zero padding, as librosa ≥ 0.10)."""
    x = np.asarray(x, np.float64)
    window = np.zeros(n_fft)
    left = (n_fft - win_length) // 2
    window[left: left + win_length] = hann(win_length)  # a shorter window sits centred in the FFT frame
    x = np.pad(x, n_fft // 2)
    n_frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    return (np.abs(np.fft.rfft(x[idx] * window, axis=1)) ** 2).T


def hz_to_mel(f):
    """Slaney's mel scale: 3 mels per 200 Hz below 1 kHz, then log-spaced (27 mels per factor 6.4)."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log_part, mel)


def mel_to_hz(m):
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangles with edges evenly spaced in mel, each scaled to unit area (2 / width)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (fft_hz[None] - lo) / (mid - lo)
    fall = (hi - fft_hz[None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rise, fall)) * (2.0 / (hi - lo))


def power_to_db(s: np.ndarray, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(amin, s))
    return np.maximum(db, db.max() - top_db) if top_db is not None else db


def log_mel(x: np.ndarray, sample_rate: int = 16000, n_fft: int = 512, hop: int = 160, win_length: int = 400,
            n_mels: int = 40, top_db: float | None = 80.0) -> np.ndarray:
    """Log-mel spectrogram in dB, shape (n_mels, frames): 25 ms windows every 10 ms at 16 kHz by default."""
    mel = mel_filterbank(sample_rate, n_fft, n_mels) @ power_spectrum(x, n_fft, hop, win_length)
    return power_to_db(mel, top_db=top_db)


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II: row k = sqrt(2/N)·cos(π k (2n+1) / 2N), row 0 scaled by 1/sqrt(2)."""
    n = np.arange(n_in)
    m = np.sqrt(2.0 / n_in) * np.cos(np.pi * np.arange(n_out)[:, None] * (2 * n[None] + 1) / (2 * n_in))
    m[0] /= np.sqrt(2.0)
    return m


def mfcc(x: np.ndarray, sample_rate: int = 16000, n_mfcc: int = 13, **kw) -> np.ndarray:
    """MFCC, shape (n_mfcc, frames): the DCT of the log-mel spectrum."""
    lm = log_mel(x, sample_rate, **kw)
    return dct_matrix(n_mfcc, lm.shape[0]) @ lm
