"""A speech corpus made here: digits and short commands in English and Mandarin, spoken by espeak-ng.

No speech data set ships in a package, so the corpus is synthesised: espeak-ng speaks each text in one of many
voices (an accent × a voice variant: formants, pitch range, roughness), at a speed and pitch drawn per
utterance; `Corpus.audio` then adds a simple room (reverberation) and coloured noise at a chosen SNR, the same
way every time (each utterance carries its own seed). Only the dry speech is stored (int16, 16 kHz).

Speakers: a voice *variant* is the speaker. Variants are split once, globally, into train/val/test, so a test
voice is never heard in training in either language (the accent alone does not make a new speaker). Gender is
espeak-ng's own metadata for the variant (`espeak-ng --voices=variant`).

Mandarin: espeak-ng 1.51 reads Chinese characters through its pinyin dictionary but then speaks the tone numbers
as English digits ("三" comes out as "san one"), so Mandarin is spoken from toned pinyin with the
`cmn-latn-pinyin` voice; the transcript keeps the characters.

Building is parallel (worker processes, each running espeak-ng and resampling its share), deterministic for a spec, and cached under
$MODELBOOK_HOME/cache/models/speech-corpus as one .npz written atomically (temp file + rename); a rerun loads it.
"""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import wave
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_path, cache_dir
from modelbook.core.procs import child_env
from modelbook.speech import augment
from modelbook.speech.tts import _espeak

VERSION = 1  # bump when synthesis or storage changes: the cache key includes it

DIGITS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "zh": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九"),
}
PINYIN = {"零": "ling2", "一": "yi1", "二": "er4", "三": "san1", "四": "si4", "五": "wu3", "六": "liu4",
          "七": "qi1", "八": "ba1", "九": "jiu3", "向": "xiang4", "左": "zuo3", "右": "you4", "上": "shang4",
          "下": "xia4", "走": "zou3", "转": "zhuan3", "看": "kan4", "移": "yi2", "停": "ting2", "开": "kai1",
          "始": "shi3", "跳": "tiao4", "火": "huo3"}
# Commands have a grammar (a verb, then a direction; or one word alone), which a language model can use.
VERBS = {"go": "走", "turn": "转", "look": "看", "move": "移"}
DIRECTIONS = {"left": "左", "right": "右", "up": "上", "down": "下"}
SINGLES = {"stop": "停", "start": "开始", "jump": "跳", "fire": "开火"}
COMMANDS = tuple(f"{v} {d}" for v in VERBS for d in DIRECTIONS) + tuple(SINGLES)  # the label of each command
LANGUAGES = {"en": ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
                    "en-gb-x-gbcwmd"),
             "zh": ("cmn-latn-pinyin",)}
KINDS = ("digit", "digits", "command")
SPLITS = ("train", "val", "test")
_SKIP_VARIANTS = {"whisper", "whisperf"}  # unvoiced: no pitch, so no gender cue and no voiced frames


def command_text(label: str, language: str) -> str:
    """The words of a command in a language: "go left" → "go left" / "向左走"."""
    if language == "en":
        return label
    if label in SINGLES:
        return SINGLES[label]
    verb, direction = label.split()
    return "向" + DIRECTIONS[direction] + VERBS[verb]


@dataclass(frozen=True)
class CorpusSpec:
    """What to synthesise. Each field with several values is a set of choices drawn per utterance."""
    languages: tuple[str, ...] = ("en", "zh")
    kinds: tuple[str, ...] = KINDS  # "digit": one digit; "digits": a string of 2..max_digits; "command"
    voices_per_language: int = 12
    n_per_voice: int = 8  # utterances per voice and kind
    max_digits: int = 4
    snr_db: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0, 0.0)  # None: no added noise
    speeds: tuple[int, ...] = (130, 155, 180, 205)  # espeak-ng words per minute
    pitches: tuple[int, ...] = (25, 40, 55, 70)  # espeak-ng pitch 0..99 (moves the variant's own range)
    reverb: tuple[bool, ...] = (False, True)
    rt60: tuple[float, float] = (0.2, 0.6)  # seconds, uniform, when reverb is on
    test_share: float = 0.25  # of each gender's variants
    val_share: float = 0.125
    seed: int = 0
    sample_rate: int = 16000

    def validate(self) -> CorpusSpec:
        bad = [x for x in self.languages if x not in LANGUAGES]
        if bad or not self.languages:
            raise ModelbookError(f"unknown corpus language {bad}; choose from {', '.join(LANGUAGES)}")
        bad = [x for x in self.kinds if x not in KINDS]
        if bad or not self.kinds:
            raise ModelbookError(f"unknown utterance kind {bad}; choose from {', '.join(KINDS)}")
        if self.voices_per_language < 6 or self.n_per_voice < 1 or self.max_digits < 2:
            raise ModelbookError("a corpus needs voices_per_language >= 6, n_per_voice >= 1 and max_digits >= 2")
        if not (self.snr_db and self.speeds and self.pitches and self.reverb):
            raise ModelbookError("snr_db, speeds, pitches and reverb each need at least one choice")
        if self.sample_rate not in (8000, 16000, 22050):
            raise ModelbookError(f"sample_rate {self.sample_rate} not supported (8000, 16000 or 22050)")
        if not (0 < self.test_share < 0.5 and 0 < self.val_share < 0.5):
            raise ModelbookError("test_share and val_share must lie in (0, 0.5)")
        return self

    def key(self) -> str:
        text = json.dumps([VERSION, _espeak_version(), asdict(self)], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


SMALL = CorpusSpec()  # 2 languages × 12 voices × 3 kinds × 8 = 576 utterances, ~4 s to build on 2 cores
FULL = CorpusSpec(voices_per_language=32, n_per_voice=16)  # 3,072 utterances
PRESETS = {"small": SMALL, "full": FULL}


@dataclass(frozen=True)
class Utterance:
    index: int  # position in the whole corpus
    text: str  # the transcript: "three seven one" / "三七一"
    words: tuple[str, ...]  # its tokens: English words, Mandarin characters
    label: str  # digits as numerals ("371", "4") or the command in English ("go left"), the same across languages
    kind: str
    language: str
    voice: str  # espeak-ng voice, accent+variant: "en-gb+f3"
    variant: str  # the speaker: "f3"
    gender: str  # "m" / "f"
    split: str
    speed: int
    pitch: int
    snr_db: float | None
    noise: str
    reverb: bool
    rt60: float
    spoken: str = field(repr=False)  # what espeak-ng was given (toned pinyin for Mandarin)
    seed: int = field(repr=False)  # the utterance's own seed for its room and noise


class Corpus:
    """Utterances and their audio. `subset` returns a view sharing the same audio."""

    def __init__(self, spec: CorpusSpec, items: list[Utterance], audio: np.ndarray, offsets: np.ndarray,
                 path: Path | None = None):
        self.spec, self.items, self._audio, self._offsets, self.path = spec, items, audio, offsets, path

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Corpus({len(self)} utterances, {len(self.voices())} voices)"

    def audio(self, i: int, clean: bool = False) -> np.ndarray:
        """Utterance i as float32 at spec.sample_rate: with its room and noise, or the dry speech (clean=True)."""
        u = self.items[i]
        x = self._audio[self._offsets[u.index]: self._offsets[u.index + 1]].astype(np.float32) / 32768.0
        if clean:
            return x
        rng = np.random.default_rng(u.seed)
        if u.reverb:
            x = augment.reverberate(x, augment.room_impulse_response(u.rt60, self.spec.sample_rate, rng))
        if u.snr_db is not None:
            x = augment.mix_at_snr(x, augment.coloured_noise(u.noise, len(x), rng), u.snr_db)
        return x

    def subset(self, split: str | None = None, language: str | None = None, kind: str | None = None,
               gender: str | None = None, voice: str | None = None) -> Corpus:
        """The utterances matching every given field (None: any)."""
        if split is not None and split not in SPLITS:
            raise ModelbookError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        want = {"split": split, "language": language, "kind": kind, "gender": gender, "voice": voice}
        want = {k: v for k, v in want.items() if v is not None}
        items = [u for u in self.items if all(getattr(u, k) == v for k, v in want.items())]
        return Corpus(self.spec, items, self._audio, self._offsets, self.path)

    def voices(self) -> list[str]:
        return sorted({u.voice for u in self.items})

    def seconds(self) -> float:
        n = sum(int(self._offsets[u.index + 1] - self._offsets[u.index]) for u in self.items)
        return n / self.spec.sample_rate


@lru_cache(maxsize=1)
def _espeak_version() -> str:
    out = subprocess.run([_espeak(), "--version"], capture_output=True, timeout=30).stdout.decode(errors="replace")
    return " ".join(out.split()[:5])


@lru_cache(maxsize=1)
def variants() -> tuple[tuple[str, str], ...]:
    """(variant, gender) for every installed espeak-ng voice variant, gender "m"/"f" from its metadata."""
    out = subprocess.run([_espeak(), "--voices=variant"], capture_output=True, timeout=30).stdout.decode(errors="replace")
    found = []
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 5 or not cols[4].startswith("!v/"):
            continue
        name, gender = cols[4][3:], cols[2].split("/")[-1].lower()
        if name not in _SKIP_VARIANTS and gender in ("m", "f"):
            found.append((name, gender))
    if len({g for _, g in found}) < 2:
        raise ModelbookError("espeak-ng lists too few voice variants (need male and female): reinstall espeak-ng-data")
    return tuple(sorted(found))


def _assign_splits(spec: CorpusSpec) -> dict[str, str]:
    """Each variant's split, drawn once for both languages: per gender, test first, then val, then train."""
    rng = np.random.default_rng([spec.seed, 101])
    split = {}
    for gender in ("f", "m"):
        names = [n for n, g in variants() if g == gender]
        rng.shuffle(names)
        n_test, n_val = max(1, round(spec.test_share * len(names))), max(1, round(spec.val_share * len(names)))
        for j, name in enumerate(names):
            split[name] = "test" if j < n_test else "val" if j < n_test + n_val else "train"
    return split


def _pick_voices(spec: CorpusSpec, language: str, split_of: dict[str, str]) -> list[tuple[str, str, str]]:
    """(voice, variant, gender) for one language: half of each gender, every split holding both genders."""
    rng = np.random.default_rng([spec.seed, 202, list(LANGUAGES).index(language)])
    picked = []
    for gender, k in (("f", spec.voices_per_language // 2), ("m", spec.voices_per_language - spec.voices_per_language // 2)):
        n_test, n_val = max(1, round(spec.test_share * k)), max(1, round(spec.val_share * k))
        for split, need in (("test", n_test), ("val", n_val), ("train", k - n_test - n_val)):
            pool = sorted(n for n, g in variants() if g == gender and split_of[n] == split)
            if need > len(pool):
                raise ModelbookError(f"{language}: {need} {split} voices of gender {gender} asked, espeak-ng has "
                                     f"{len(pool)}: lower voices_per_language")
            for name in rng.choice(pool, size=need, replace=False):
                accent = LANGUAGES[language][int(rng.integers(len(LANGUAGES[language])))]
                picked.append((f"{accent}+{name}", str(name), gender))
    return picked


def plan(spec: CorpusSpec) -> list[Utterance]:
    """Every utterance's text and settings (no audio): deterministic in the spec."""
    spec.validate()
    split_of = _assign_splits(spec)
    items: list[Utterance] = []
    for li, language in enumerate(spec.languages):
        for vi, (voice, variant, gender) in enumerate(_pick_voices(spec, language, split_of)):
            offset = int(np.random.default_rng([spec.seed, 303, li, vi]).integers(10))
            for kind in spec.kinds:
                for k in range(spec.n_per_voice):
                    rng = np.random.default_rng([spec.seed, li, vi, KINDS.index(kind), k])
                    if kind == "digit":
                        label = str((offset + k) % 10)  # every digit equally often per voice
                    elif kind == "digits":
                        label = "".join(str(d) for d in rng.integers(10, size=int(rng.integers(2, spec.max_digits + 1))))
                    else:
                        label = COMMANDS[int(rng.integers(len(COMMANDS)))]
                    if kind == "command":
                        text = command_text(label, language)
                        words = tuple(text.split()) if language == "en" else tuple(text)
                    else:
                        words = tuple(DIGITS[language][int(d)] for d in label)
                        text = " ".join(words) if language == "en" else "".join(words)
                    spoken = text if language == "en" else " ".join(PINYIN[c] for c in text)
                    reverb = bool(spec.reverb[int(rng.integers(len(spec.reverb)))])
                    items.append(Utterance(
                        index=len(items), text=text, words=words, label=label, kind=kind, language=language,
                        voice=voice, variant=variant, gender=gender, split=split_of[variant],
                        speed=int(rng.choice(spec.speeds)), pitch=int(rng.choice(spec.pitches)),
                        snr_db=spec.snr_db[int(rng.integers(len(spec.snr_db)))],
                        noise=augment.NOISES[int(rng.integers(len(augment.NOISES)))], reverb=reverb,
                        rt60=round(float(rng.uniform(*spec.rt60)), 3) if reverb else 0.0,
                        spoken=spoken, seed=int(rng.integers(2**62))))
    return items


def speak(text: str, voice: str, speed: int = 160, pitch: int = 50, sample_rate: int = 16000,
          trim_db: float = 45.0) -> np.ndarray:
    """espeak-ng's audio for `text` as float32 at `sample_rate`, leading/trailing silence trimmed (10 ms kept)."""
    try:
        wav = subprocess.run([_espeak(), "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch), "--", text],
                             check=True, capture_output=True, timeout=60).stdout
        with wave.open(io.BytesIO(wav)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
    except (subprocess.CalledProcessError, wave.Error, EOFError) as e:
        raise ModelbookError(f"espeak-ng could not speak {text!r} with voice {voice}: {e}") from None
    g = np.gcd(sample_rate, rate)
    x = resample_poly(x, sample_rate // g, rate // g).astype(np.float32)
    hop = sample_rate // 100
    frames = np.sqrt(np.mean(x[: len(x) // hop * hop].reshape(-1, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(frames / (frames.max() + 1e-12)) > -trim_db)
    if len(loud) == 0:
        return x
    return x[max(0, (loud[0] - 1) * hop): min(len(x), (loud[-1] + 2) * hop)]


def _speak_all(jobs: list[tuple[str, str, int, int, int]]) -> list[np.ndarray]:
    """int16 audio for (spoken, voice, speed, pitch, sample_rate) jobs; run inside a worker process."""
    return [np.clip(np.round(speak(*job) * 32767.0), -32768, 32767).astype(np.int16) for job in jobs]


def _synthesise(items: list[Utterance], spec: CorpusSpec, workers: int) -> list[np.ndarray]:
    """Every utterance's dry audio, from `workers` child processes (each runs espeak-ng and resamples its share).

    Plain `python -c` children fed JSON on stdin, not multiprocessing: spawn would re-run a caller's script
    that lacks an `if __name__ == "__main__"` guard, and fork would copy torch's half-made thread pools."""
    jobs = [(u.spoken, u.voice, u.speed, u.pitch, spec.sample_rate) for u in items]
    if workers <= 1 or len(jobs) < 64:
        return _speak_all(jobs)
    cmd = [sys.executable, "-c", "from modelbook.speech.corpus import _worker_main; _worker_main()"]
    shares = np.array_split(np.arange(len(jobs)), workers)
    procs = []
    for share in shares:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=child_env(threads=1))
        p.stdin.write(json.dumps([jobs[i] for i in share]).encode())
        p.stdin.close()
        procs.append(p)
    clips: list[np.ndarray] = []
    for p in procs:
        out, err = p.stdout.read(), p.stderr.read()
        if p.wait() != 0:
            raise ModelbookError(f"speech corpus worker failed: {err.decode(errors='replace').strip()[-300:]}")
        with np.load(io.BytesIO(out), allow_pickle=False) as z:
            clips += np.split(z["audio"], z["offsets"][1:-1])
    return clips


def _worker_main() -> None:
    """A synthesis worker: jobs as JSON on stdin, their int16 audio as an .npz on stdout."""
    clips = _speak_all([tuple(j) for j in json.loads(sys.stdin.buffer.read())])
    buf = io.BytesIO()
    np.savez(buf, audio=np.concatenate(clips), offsets=np.concatenate([[0], np.cumsum([len(c) for c in clips])]))
    sys.stdout.buffer.write(buf.getvalue())


def _load(path: Path, spec: CorpusSpec) -> Corpus:
    try:
        with np.load(path, allow_pickle=False) as z:
            audio, offsets, meta = z["audio"], z["offsets"], json.loads(bytes(z["meta"]).decode("utf-8"))
        items = [Utterance(**{**m, "words": tuple(m["words"])}) for m in meta["items"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelbookError(f"speech corpus cache {path} is unreadable ({e}): delete it to rebuild") from None
    if len(offsets) != len(items) + 1 or offsets[-1] != len(audio):
        raise ModelbookError(f"speech corpus cache {path} is inconsistent: delete it to rebuild")
    return Corpus(spec, items, audio, offsets, path)


def build(spec: CorpusSpec = SMALL, home: Path | None = None, workers: int = 2) -> Corpus:
    """The corpus for `spec`: loaded from the cache if built before, else synthesised (in parallel) and cached.

    `home` is the cache folder (default $MODELBOOK_HOME/cache/models/speech-corpus: beside the converted model
    weights, the cache the test suite shares with the user's, so a corpus built once by ./setup.sh is not
    synthesised again inside every test session's CPU and wall-clock budget)."""
    spec.validate()
    folder = Path(home) if home is not None else cache_dir("models") / "speech-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"corpus-{spec.key()}.npz"
    if path.exists():
        return _load(path, spec)
    items = plan(spec)
    clips = _synthesise(items, spec, workers)
    audio = np.concatenate(clips)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in clips])]).astype(np.int64)
    meta = json.dumps({"version": VERSION, "spec": asdict(spec), "items": [asdict(u) for u in items]},
                      ensure_ascii=False).encode("utf-8")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, audio=audio, offsets=offsets, meta=np.frombuffer(meta, np.uint8))
    return Corpus(spec, items, audio, offsets, path)


def preset(name: str, **overrides) -> CorpusSpec:
    """A named spec ("small" / "full") with fields overridden: preset("small", seed=3)."""
    if name not in PRESETS:
        raise ModelbookError(f"unknown corpus preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)
