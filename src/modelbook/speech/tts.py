"""Classical text-to-speech with espeak-ng: text → phonemes by rules → formant synthesis → a WAV file.

espeak-ng is the pre-neural pipeline in one program: text normalisation and letter-to-sound rules with an
exception dictionary (the front end, `phonemes` shows its output in IPA), then a formant synthesiser that
shapes a buzz and noise source with resonators for each phoneme (the back end). Its speaking rate is set in
words per minute (`-s`, default 175), and the duration of the audio follows it. It is intelligible,
fast (no model weights) and robotic: prosody comes from punctuation rules, not from meaning.

Neural TTS replaces both halves with learned models: an acoustic model that predicts a mel spectrogram from
text or phonemes (Tacotron 2, FastSpeech 2) and a neural vocoder that turns it into a waveform (WaveNet,
HiFi-GAN), or, like VALL-E, a language model over discrete audio-codec tokens. What it adds: natural prosody
and expressiveness learned from recordings, and cloning a voice from seconds of audio (also what makes it an
impersonation risk).
"""
from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from modelbook.core.errors import ModelbookError, missing_debian
from modelbook.core.paths import atomic_path


@dataclass(frozen=True)
class Speech:
    path: Path
    seconds: float
    sample_rate: int
    words: int

    @property
    def words_per_minute(self) -> float:
        return 60.0 * self.words / self.seconds if self.seconds else 0.0


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise missing_debian("espeak-ng", "PATH", "espeak-ng")
    return exe


def synthesize(text: str, path: Path, voice: str = "en-us", words_per_minute: int = 175, pitch: int = 50) -> Speech:
    """Speak `text` into a 16-bit mono WAV at `path` (espeak-ng's native 22,050 Hz); return its measured duration."""
    if not text.strip():
        raise ModelbookError("nothing to speak: the text is empty")
    path = Path(path)
    exe = _espeak()
    try:
        with atomic_path(path) as tmp:  # espeak-ng writes the temp file; it replaces `path` only once it reads back
            subprocess.run([exe, "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "-w", str(tmp), "--", text],
                           check=True, capture_output=True, timeout=120)
            with wave.open(str(tmp), "rb") as w:
                rate, frames = w.getframerate(), w.getnframes()
    except subprocess.CalledProcessError as e:
        raise ModelbookError(f"espeak-ng failed: {e.stderr.decode(errors='replace').strip()[:200]}") from e
    return Speech(path, frames / rate, rate, len(text.split()))


def phonemes(text: str, voice: str = "en-us") -> str:
    """The front end's output: the phonemes espeak-ng would speak, in IPA."""
    out = subprocess.run([_espeak(), "-q", "--ipa", "-v", voice, "--", text], check=True, capture_output=True,
                         timeout=60)
    return " ".join(out.stdout.decode("utf-8", errors="replace").split())
