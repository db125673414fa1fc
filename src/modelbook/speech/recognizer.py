"""A small end-to-end recogniser: log-mel frames → dilated 1-D convolutions → per-frame token posteriors, trained
with CTC. Tokens are whole words (English) or characters (Mandarin): the closed vocabulary of a command or
keyword recogniser, which a few hundred utterances can teach (letters would need far more data).

    rec = train_recognizer(corpus.subset(split="train", kind="command"), epochs=30)
    rec.transcribe(audio)                       # "go left"
    rec.save(path); Recognizer.load(path)

`command_recognizer()` trains (once, then loads from $MODELBOOK_HOME/cache/speech) an English command recogniser
for other labs that want voice control.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_path, cache_dir
from modelbook.speech import ctc
from modelbook.speech.features import log_mel
from modelbook.speech.lm import NGram

N_MELS = 40


HOP_S = 0.02


def log_mel_frames(x: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """(frames, 40) log-mel in dB, 25 ms windows every 20 ms."""
    return log_mel(x, sample_rate, hop=int(HOP_S * sample_rate), n_mels=N_MELS, top_db=None).T.astype(np.float32)


def normalize(f: np.ndarray) -> np.ndarray:
    """Per-utterance mean and variance normalisation per bin (removes the channel, and the speaker's long-term
    spectral envelope with it: right for recognising words, wrong for recognising speakers)."""
    return ((f - f.mean(0)) / (f.std(0) + 1e-5)).astype(np.float32)


def featurize(x: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """The recogniser's input: normalize(log_mel_frames(x))."""
    return normalize(log_mel_frames(x, sample_rate))


@dataclass
class Vocab:
    tokens: list[str]  # index 0 is the CTC blank
    joiner: str = " "  # " " for words, "" for Mandarin characters

    @classmethod
    def from_texts(cls, token_lists: Sequence[Sequence[str]], joiner: str) -> Vocab:
        return cls(["<blank>"] + sorted({t for ts in token_lists for t in ts}), joiner)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        index = {t: i for i, t in enumerate(self.tokens)}
        return [index[t] for t in tokens if t in index]

    def decode(self, ids: Sequence[int]) -> str:
        return self.joiner.join(self.tokens[i] for i in ids)


class CTCNet(nn.Module):
    """Conv (stride 2: 40 ms per output frame) then residual dilated convs (receptive field ~0.7 s), then tokens."""

    def __init__(self, n_tokens: int, channels: int = 96, n_in: int = N_MELS, dilations: Sequence[int] = (1, 2, 4)):
        super().__init__()
        self.inp = nn.Conv1d(n_in, channels, 5, stride=2, padding=2)
        self.blocks = nn.ModuleList(nn.Conv1d(channels, channels, 5, padding=2 * d, dilation=d) for d in dilations)
        self.norms = nn.ModuleList(nn.GroupNorm(1, channels) for _ in dilations)
        self.out = nn.Conv1d(channels, n_tokens, 1)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, T, n_in) → log-probabilities (N, T', n_tokens), T' = ceil(T / 2)."""
        h = torch.relu(self.inp(x.transpose(1, 2)))
        for conv, norm in zip(self.blocks, self.norms):
            h = h + self.drop(torch.relu(norm(conv(h))))
        return self.out(h).transpose(1, 2).log_softmax(-1)

    @staticmethod
    def out_lengths(lengths: torch.Tensor) -> torch.Tensor:
        return (lengths + 1) // 2


def augment_batch(x: torch.Tensor, gen: torch.Generator, max_shift: int = 3, mask_bins: int = 6) -> torch.Tensor:
    """Cheap speaker variety for training: shift each utterance's mel bins by up to ±max_shift (a crude vocal-tract
    length change: formants move up or down together) and blank one random band of bins (SpecAugment's mask)."""
    n, _, bins = x.shape
    out = torch.empty_like(x)
    shifts = torch.randint(-max_shift, max_shift + 1, (n,), generator=gen).tolist()
    starts = torch.randint(0, bins - mask_bins, (n,), generator=gen).tolist()
    widths = torch.randint(0, mask_bins + 1, (n,), generator=gen).tolist()
    for i, (s, a, w) in enumerate(zip(shifts, starts, widths)):
        out[i] = torch.roll(x[i], s, dims=1)
        if s > 0:
            out[i, :, :s] = x[i, :, :1]
        elif s < 0:
            out[i, :, s:] = x[i, :, -1:]
        out[i, :, a: a + w] = 0.0
    return out


def mask_time(x: torch.Tensor, lengths: torch.Tensor, gen: torch.Generator, n: int, width: int = 5) -> torch.Tensor:
    """SpecAugment's time masks: blank `n` random runs of 0..width frames inside each utterance (a word the model
    must recognise from what is left, rather than memorise whole; Park et al. 2019)."""
    x = x.clone()
    for i, t in enumerate(lengths.tolist()):
        for _ in range(n):
            w = int(torch.randint(0, width + 1, (1,), generator=gen))
            a = int(torch.randint(0, max(1, t - w), (1,), generator=gen))
            x[i, a: a + w] = 0.0
    return x


def pad(feats: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(f) for f in feats])
    out = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1])
    for i, f in enumerate(feats):
        out[i, : len(f)] = torch.from_numpy(f)
    return out, lengths


class Recognizer:
    def __init__(self, vocab: Vocab, net: CTCNet, channels: int):
        self.vocab, self.net, self.channels = vocab, net.eval(), channels

    def log_probs(self, feats: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-frame log-posteriors (T', tokens) for each utterance's features."""
        out = []
        with torch.no_grad():
            for i in range(0, len(feats), 64):
                x, lengths = pad(feats[i: i + 64])
                lp = self.net(x)
                out += [lp[j, : n].numpy() for j, n in enumerate(CTCNet.out_lengths(lengths).tolist())]
        return out

    def decode(self, log_probs: np.ndarray, beam: int = 0, lm: NGram | None = None, alpha: float = 0.0,
               beta: float = 0.0) -> str:
        """Greedy (beam 0) or prefix beam search, with an n-gram LM fused in when given."""
        ids = ctc.greedy(log_probs) if beam <= 0 else ctc.prefix_beam_search(log_probs, beam, lm=lm, alpha=alpha, beta=beta)
        return self.vocab.decode(ids)

    def transcribe(self, audio: np.ndarray, sample_rate: int = 16000, beam: int = 0, lm: NGram | None = None,
                   alpha: float = 0.0, beta: float = 0.0) -> str:
        if audio.ndim != 1 or len(audio) < sample_rate // 20:
            raise ModelbookError("transcribe wants mono audio of at least 50 ms")
        return self.decode(self.log_probs([featurize(audio, sample_rate)])[0], beam, lm, alpha, beta)

    def save(self, path: Path) -> None:
        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save(self.net.state_dict(), tmp)
        with atomic_path(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps({"tokens": self.vocab.tokens, "joiner": self.vocab.joiner,
                                       "channels": self.channels}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> Recognizer:
        path = Path(path)
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            vocab = Vocab(meta["tokens"], meta["joiner"])
            net = CTCNet(len(vocab.tokens), meta["channels"])
            net.load_state_dict(torch.load(path, weights_only=True))
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise ModelbookError(f"cannot load the recogniser at {path}: {str(e).splitlines()[0][:160]}") from None
        return cls(vocab, net, meta["channels"])


def train_recognizer(feats: Sequence[np.ndarray], tokens: Sequence[Sequence[str]], joiner: str = " ", epochs: int = 30,
                     channels: int = 96, lr: float = 5e-3, batch: int = 8, seed: int = 0,
                     loss_fn=None, augment: bool = False, time_masks: int = 0) -> Recognizer:
    """Train a CTCNet on (features, token list) pairs with Adam and a one-cycle schedule; `time_masks` per utterance
    and batch (mask_time) when asked.

    loss_fn defaults to torch.nn.functional.ctc_loss (ctc.ctc_loss gives the same values, slower)."""
    if len(feats) != len(tokens) or not feats:
        raise ModelbookError("train_recognizer needs as many transcripts as feature arrays, and at least one")
    loss_fn = loss_fn or torch.nn.functional.ctc_loss
    vocab = Vocab.from_texts(tokens, joiner)
    targets = [torch.tensor(vocab.encode(t)) for t in tokens]
    torch.manual_seed(seed)
    net = CTCNet(len(vocab.tokens), channels)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * ((len(feats) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(feats), generator=gen).tolist()
        for i in range(0, len(order), batch):
            idx = order[i: i + batch]
            x, lengths = pad([feats[j] for j in idx])
            x = augment_batch(x, gen) if augment else x
            x = mask_time(x, lengths, gen, time_masks) if time_masks else x
            y = [targets[j] for j in idx]
            lp = net(x).transpose(0, 1)  # (T', N, C) as CTC wants
            loss = loss_fn(lp, nn.utils.rnn.pad_sequence(y, batch_first=True), CTCNet.out_lengths(lengths),
                           torch.tensor([len(t) for t in y]), zero_infinity=True)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
    return Recognizer(vocab, net, channels)


def command_recognizer(language: str = "en", epochs: int = 30, seed: int = 0) -> Recognizer:
    """An English (or Mandarin) command recogniser trained on the corpus's command utterances, cached after the first call.

    Its vocabulary: corpus.VERBS, DIRECTIONS and SINGLES ("go left", "stop", ...)."""
    from modelbook.speech import corpus as corpus_mod

    spec = corpus_mod.preset("small", languages=(language,), kinds=("command",), n_per_voice=24, seed=seed)
    path = cache_dir("speech") / f"commands-{language}-{spec.key()}-{epochs}.pt"
    if path.exists():
        return Recognizer.load(path)
    data = corpus_mod.build(spec).subset(language=language)  # every voice: this model is a tool, not an experiment
    feats = [featurize(data.audio(i)) for i in range(len(data))]
    rec = train_recognizer(feats, [u.words for u in data.items], " " if language == "en" else "", epochs, seed=seed)
    rec.save(path)
    return rec
