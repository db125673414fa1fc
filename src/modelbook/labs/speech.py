"""Speech recognition and speaker recognition on a synthetic corpus (topic 12): features, the classical pipeline,
end-to-end CTC, a language model in decoding, speaker verification, VAD, Mandarin.

What this lab shows
  1. Features: log-mel spectrogram and MFCC from scratch equal librosa's on the same audio (max |Δ| in dB).
  2. Classical pipeline: PocketSphinx (HMM/GMM acoustic model + dictionary + a digit grammar) on the clean
     English test digits: its WER is the "acoustic model + language model" baseline.
  3. End-to-end: a small CTC model (dilated convolutions over log-mel, word tokens) trained from scratch on the
     training voices. Our CTC loss equals torch.nn.functional.ctc_loss on the trained model's outputs; WER and
     CER by us equal jiwer's on the same transcripts; WER by SNR, and on held-out utterances of training
     voices (seen) vs test voices (unseen: variants never heard in training, in either language).
  4. Language model: a token trigram (Witten-Bell) fused into prefix beam search (shallow fusion, weights
     chosen on the validation voices). Commands have a grammar (a verb is followed by a direction), so the LM
     can correct them; digit strings have none (every digit follows every digit equally often), so it cannot.
  5. Speaker verification: an x-vector (per-frame convolutions, mean+std pooling) trained to classify the
     training speakers; cosine scores on pairs of utterances of unseen speakers; EER by us equals the EER read
     off scikit-learn's ROC curve on the same scores.
  6. VAD: Silero VAD (ONNX) on test utterances padded with 0.4-1.0 s of silence and background noise at
     20 dB below the speech: frame F1 (ours = scikit-learn's) and boundary error in ms, vs an energy threshold.
  7. Mandarin digits: the same recogniser trained on Mandarin, tokens = characters (one syllable each).

The corpus is fixed by `corpus_seed` (like a data set); `seed` moves model initialisation and training order.

Full preset, seed 0 (2,304 utterances, 0.43 h; 14/14 checks; 99 CPU-s in the lab's process, plus the corpus
workers): greedy WER 0.39 on unseen voices vs 0.30 on held-out utterances of training voices; unseen by SNR
clean 0.27, 20 dB 0.31, 10 dB 0.37, 5 dB 0.52, 0 dB 0.47. Clean unseen-voice digits: CTC 0.07 vs PocketSphinx
(digit grammar) 0.53. Trigram fusion: commands 0.51 → 0.46, digits 0.33 → 0.31 (next-digit entropy 3.31 bits
of log2 10 = 3.32). x-vector EER 0.21 on unseen speakers (mean log-mel cosine 0.29). Silero frame F1 0.88 (an
energy threshold 0.91 on this stationary noise), median boundary error 62 ms. Mandarin digits CER 0.37.
Commands are the weak spot (fewer examples per word than digits); at this scale the x-vector is far from
VoxCeleb figures and the energy VAD is as good as Silero, because the padding noise is stationary.

Building blocks: modelbook/speech/{corpus,augment,features,ctc,lm,recognizer,metrics,verification,vad,sphinx}.py
Cross-checks:    tests/speech/, tests/labs/test_speech.py
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.speech import corpus as corpus_mod
from modelbook.speech import ctc, metrics, sphinx, vad, verification
from modelbook.speech.features import log_mel, mfcc
from modelbook.speech.lm import NGram
from modelbook.speech.recognizer import CTCNet, featurize, log_mel_frames, pad, train_recognizer

LIBROSA = "librosa.feature.melspectrogram + power_to_db / librosa.feature.mfcc, same parameters, same audio"
TORCH_CTC = "torch.nn.functional.ctc_loss on the same log-probabilities and targets (float64)"
JIWER = "jiwer.wer / jiwer.cer on the same reference and hypothesis transcripts"
SKLEARN_ROC = "sklearn.metrics.roc_curve(drop_intermediate=False): the point where 1 − TPR and FPR are closest"
SKLEARN_F1 = "sklearn.metrics.f1_score on the same frame masks"
SNRS = (None, 20.0, 10.0, 5.0, 0.0)


@dataclass(frozen=True)
class Config:
    RANGES: ClassVar[dict] = {"voices": (6, 36), "per_voice": (2, 64), "epochs": (1, None), "channels": (8, 512),
                              "beam": (1, 64), "xvector_epochs": (1, None), "vad_clips": (2, None),
                              "sphinx_clips": (4, None), "zh_epochs": (1, None),
                              "xvector_stride": (1, 8), "time_masks": (0, 8)}
    voices: int = 32
    """voices per language (half female, half male; a quarter held out as unseen test voices)"""
    per_voice: int = 12
    """utterances per voice and kind (one digit, a digit string, a command)"""
    corpus_seed: int = 0
    """the corpus is a fixed data set: this seed draws its voices, texts, speeds, pitches, noise and rooms"""
    epochs: int = 30
    time_masks: int = 0
    """SpecAugment time masks per training utterance and step, English model (mask_time)"""
    channels: int = 96
    zh_epochs: int = 30
    beam: int = 8
    xvector_epochs: int = 20
    xvector_stride: int = 1
    """train the x-vector on every n-th training utterance"""
    vad_clips: int = 60
    sphinx_clips: int = 120
    max_wer: float = 0.45
    """stated threshold: end-to-end WER on unseen voices (greedy)"""
    max_zh_cer: float = 0.45
    """stated threshold: Mandarin digit CER on unseen voices"""
    max_eer: float = 0.35
    """stated threshold: speaker-verification EER on unseen speakers (chance 0.5)"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run()"""


PRESETS = {
    # quick: 20 epochs with 2 time masks (was 15, none): greedy unseen WER over 22 model seeds 0.475 ± 0.048, max 0.566
    # (was 0.505 ± 0.055, max 0.615); +1 CPU-s. Not yet enough: one seed in the full tier's sweep (1551521109) gives
    # 0.608. 25 epochs keep every seed tried under 0.6 (max 0.573 over 18) but then shallow fusion hurts commands
    # beyond 2 paired SE on 2 of 18 seeds, and averaging two models' CTC posteriors frame by frame fails outright
    # (WER 0.82-0.85: the models' spikes fall on different frames). Open: see the closing note of issue 19.
    "quick": Config(voices=24, per_voice=4, epochs=20, time_masks=2, channels=64, zh_epochs=12, beam=4, xvector_epochs=6, xvector_stride=2,
                    vad_clips=16, sphinx_clips=16, max_wer=0.6, max_zh_cer=0.6, max_eer=0.4),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("speech", cfg)
    data = corpus_for(cfg)
    result.metric("corpus/utterances", len(data))
    result.metric("corpus/hours", data.seconds() / 3600)
    _features(result, data)
    feats = [featurize(data.audio(i)) for i in progress.track(range(len(data)), "features")]
    held = _held_out(data)
    rec, lps = _end_to_end(result, cfg, data, feats, held, out)
    _language_model(result, cfg, data, rec, lps, held)
    _classical(result, cfg, data, rec)
    _speakers(result, cfg, data, out)
    _vad(result, cfg, data)
    _mandarin(result, cfg, data, feats, held)
    return result


def corpus_for(cfg: Config) -> corpus_mod.Corpus:
    """The speech corpus a config uses: synthesised once (worker processes), then loaded from the cache."""
    return corpus_mod.build(corpus_mod.preset("small", voices_per_language=cfg.voices, n_per_voice=cfg.per_voice,
                                              seed=cfg.corpus_seed))


def quick_corpus() -> corpus_mod.Corpus:
    """The quick preset's corpus, so a test session can build it once up front (cheap when already cached)."""
    return corpus_for(PRESETS["quick"])


def _held_out(data) -> np.ndarray:
    """Utterances of training voices kept out of training (every fifth per voice): the seen-voice test set."""
    count: dict[str, int] = {}
    held = np.zeros(len(data), bool)
    for i, u in enumerate(data.items):
        count[u.voice] = count.get(u.voice, 0) + 1
        held[i] = u.split == "train" and count[u.voice] % 5 == 0
    return held


def _idx(data, held, **want) -> list[int]:
    seen = want.pop("seen", None)
    return [i for i, u in enumerate(data.items) if all(getattr(u, k) in (v if isinstance(v, tuple) else (v,))
                                                         for k, v in want.items())
            and (seen is None or held[i] == seen)]


# -- 1. features -------------------------------------------------------------------------------------------
def _features(result: LabResult, data) -> None:
    import librosa

    worst_mel = worst_mfcc = 0.0
    for i in range(1):
        x = data.audio(i)
        ref = librosa.power_to_db(librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, hop_length=160,
                                                                 win_length=400, n_mels=40), top_db=80.0)
        worst_mel = max(worst_mel, float(np.abs(log_mel(x) - ref).max()))
        ref = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=13, n_fft=512, hop_length=160, win_length=400, n_mels=40)
        worst_mfcc = max(worst_mfcc, float(np.abs(mfcc(x) - ref).max()))
    result.check("log-mel spectrogram from scratch vs librosa (max |Δ| dB, one utterance)",
                 result.metric("features/log_mel_max_abs_diff_db", worst_mel), reference=0.0, tolerance=1e-3,
                 source=LIBROSA + " (librosa computes in float32 for float32 audio)", kind="at_most")
    result.check("MFCC from scratch vs librosa (max |Δ|, one utterance)", result.metric("features/mfcc_max_abs_diff", worst_mfcc),
                 reference=0.0, tolerance=1e-3, source=LIBROSA, kind="at_most")


# -- 3. end-to-end CTC -------------------------------------------------------------------------------------
def _end_to_end(result: LabResult, cfg: Config, data, feats, held, out):
    import jiwer

    train = [i for i in _idx(data, held, language="en", split="train", seen=False)]
    rec = train_recognizer([feats[i] for i in train], [data.items[i].words for i in train], " ", cfg.epochs,
                           cfg.channels, seed=cfg.seed, time_masks=cfg.time_masks)
    en = _idx(data, held, language="en")
    lps = dict(zip(en, rec.log_probs([feats[i] for i in en])))
    # our CTC loss on the trained model's outputs, against torch's
    batch = _idx(data, held, language="en", split="test")[:16]
    x, lengths = pad([feats[i] for i in batch])
    with torch.no_grad():
        lp = rec.net.double()(x.double()).transpose(0, 1)
        rec.net.float()
    y = [torch.tensor(rec.vocab.encode(data.items[i].words)) for i in batch]
    args = (lp, torch.nn.utils.rnn.pad_sequence(y, batch_first=True), CTCNet.out_lengths(lengths),
            torch.tensor([len(t) for t in y]))
    ours, ref = ctc.ctc_loss(*args, reduction="none"), torch.nn.functional.ctc_loss(*args, reduction="none")
    result.check("CTC loss from scratch vs torch (max relative |Δ| over 16 test utterances)",
                 result.metric("ctc/loss_max_rel_diff_vs_torch", float(((ours - ref).abs() / ref).max())),
                 reference=0.0, tolerance=1e-9, source=TORCH_CTC, kind="at_most")

    hyp = {i: rec.decode(lps[i]) for i in en}
    unseen, seen = _idx(data, held, language="en", split="test"), _idx(data, held, language="en", seen=True)
    refs, hyps = [data.items[i].text for i in unseen], [hyp[i] for i in unseen]
    w = result.metric("e2e/wer_unseen", metrics.wer(refs, hyps))
    result.check("WER from scratch vs jiwer (unseen test voices, greedy)", abs(w - jiwer.wer(refs, hyps)), reference=0.0,
                 tolerance=1e-12, source=JIWER, kind="at_most")
    c = result.metric("e2e/cer_unseen", metrics.cer(refs, hyps))
    result.check("CER from scratch vs jiwer", abs(c - jiwer.cer(refs, hyps)), reference=0.0, tolerance=1e-12,
                 source=JIWER, kind="at_most")
    result.metric("e2e/wer_seen", metrics.wer([data.items[i].text for i in seen], [hyp[i] for i in seen]))
    by_snr = {}
    for group, idx in (("seen", seen), ("unseen", unseen)):
        for snr in SNRS:
            k = [i for i in idx if data.items[i].snr_db == snr]
            by_snr[(group, snr)] = result.metric(f"e2e/wer_{group}_snr_{'clean' if snr is None else int(snr)}",
                                                 metrics.wer([data.items[i].text for i in k], [hyp[i] for i in k]))
    result.check(f"end-to-end WER on unseen voices (greedy), at most {cfg.max_wer}", w, reference=cfg.max_wer, tolerance=0.0,
                 source="issue 19 (a stated threshold; CPU scale: a few hundred utterances, minutes of training)",
                 kind="at_most")
    _plot_snr(by_snr, out, result)
    return rec, lps


def _plot_snr(by_snr, out, result) -> None:
    fig, ax = plots.figure(1, 1, size=(6, 3.5))
    xs = np.arange(len(SNRS))
    for k, group in enumerate(("seen", "unseen")):
        ax.bar(xs + 0.4 * k, [by_snr[(group, s)] for s in SNRS], 0.4, label=f"{group} voices")
    ax.set_xticks(xs + 0.2, ["clean" if s is None else f"{s:g} dB" for s in SNRS])
    ax.set(ylabel="WER (greedy)", title="End-to-end CTC: WER by SNR")
    ax.legend()
    result.artifact(plots.save(fig, out / "wer_by_snr.png"))


# -- 4. language model in decoding -------------------------------------------------------------------------
def _language_model(result: LabResult, cfg: Config, data, rec, lps, held) -> None:
    train = _idx(data, held, language="en", split="train", seen=False)
    lm = NGram([rec.vocab.encode(data.items[i].words) for i in train], len(rec.vocab.tokens), order=3)
    val, test = _idx(data, held, language="en", split="val"), _idx(data, held, language="en", split="test")

    def wer_of(idx, alpha, beta, lm_=lm):
        return metrics.wer([data.items[i].text for i in idx],
                           [rec.decode(lps[i], cfg.beam, lm_ if alpha else None, alpha, beta) for i in idx])

    grid = [(a, b) for a in (0.5, 1.0) for b in (0.0, 1.0)]
    alpha, beta = min(grid, key=lambda ab: wer_of(val, *ab))
    result.metric("lm/alpha", alpha)
    result.metric("lm/beta", beta)
    edits = {}
    for kind, kinds in (("digits", ("digit", "digits")), ("commands", ("command",))):
        k = [i for i in test if data.items[i].kind in kinds]
        plain = [rec.decode(lps[i], cfg.beam) for i in k]
        fused = [rec.decode(lps[i], cfg.beam, lm, alpha, beta) for i in k]
        refs = [data.items[i].text for i in k]
        result.metric(f"lm/{kind}/wer_beam", metrics.wer(refs, plain))
        result.metric(f"lm/{kind}/wer_beam_lm", metrics.wer(refs, fused))
        result.metric(f"lm/{kind}/wer_gain", metrics.wer(refs, plain) - metrics.wer(refs, fused))
        # per-utterance change in edits, for a paired standard error of the WER difference
        d = np.array([metrics.edit_distance(r.split(), f.split()) - metrics.edit_distance(r.split(), p.split())
                      for r, p, f in zip(refs, plain, fused)], float)
        edits[kind] = 2 * np.sqrt(len(d)) * d.std(ddof=1) / sum(len(r.split()) for r in refs)
    result.metric("lm/greedy_minus_beam_wer", result.value("e2e/wer_unseen") - metrics.wer(
        [data.items[i].text for i in test], [rec.decode(lps[i], cfg.beam) for i in test]))
    digit_vocab = [rec.vocab.encode([w])[0] for w in corpus_mod.DIGITS["en"]]
    # the LM's next-digit distribution after a digit: entropy, against log2(10) for digits drawn uniformly
    # averaged over every digit as the previous token (one history alone holds a handful of counts)
    p = np.mean([[lm.prob([d], t) for t in digit_vocab] for d in digit_vocab], axis=0)
    p /= p.sum()
    result.check("trigram's next-digit entropy after a digit (bits) vs log2 10: digit strings have no grammar",
                 result.metric("lm/digit_entropy_bits", float(-(p * np.log2(p)).sum())), reference=float(np.log2(10)),
                 tolerance=0.15, source="exact: the corpus draws each digit of a string uniformly (log2 10 = 3.32 bits)")
    result.check("shallow fusion does not hurt commands: WER with LM − without (unseen voices), within 2 paired SE",
                 result.value("lm/commands/wer_beam_lm") - result.value("lm/commands/wer_beam"), reference=0.0,
                 tolerance=float(edits["commands"]), source="the beam search without the LM on the same log-probabilities "
                 "(tolerance: 2 standard errors of the per-utterance edit differences)", kind="at_most")
    result.note(f"Shallow fusion (α = {alpha}, β = {beta}, chosen on validation voices), WER on unseen voices without → "
                f"with the trigram: commands {result.value('lm/commands/wer_beam'):.3f} → "
                f"{result.value('lm/commands/wer_beam_lm'):.3f}, digits {result.value('lm/digits/wer_beam'):.3f} → "
                f"{result.value('lm/digits/wer_beam_lm'):.3f}. The LM knows that a verb is followed by a direction; after a "
                "digit it can only say 'another digit or the end', each digit equally likely.")


# -- 2. classical pipeline ---------------------------------------------------------------------------------
def _classical(result: LabResult, cfg: Config, data, rec) -> None:
    idx = [i for i, u in enumerate(data.items) if u.language == "en" and u.split == "test"
           and u.kind in ("digit", "digits")][: cfg.sphinx_clips]
    clean = [data.audio(i, clean=True) for i in idx]
    refs = [data.items[i].text for i in idx]
    ps = result.metric("classical/pocketsphinx_wer_clean_digits", metrics.wer(refs, sphinx.transcribe(clean, "digits")))
    e2e = result.metric("classical/e2e_wer_clean_digits",
                        metrics.wer(refs, [rec.decode(lp) for lp in rec.log_probs([featurize(x) for x in clean])]))
    if cfg.epochs >= 30:  # the quick model (20 epochs on ~140 utterances) is not trained enough to claim it
        result.check("end-to-end CTC below PocketSphinx (digit grammar) on the same clean unseen-voice digits: WER",
                     e2e, reference=ps, tolerance=0.0, source="pocketsphinx 5 en-us acoustic model + dictionary + JSGF "
                     "digit grammar on the same audio", kind="at_most")
    result.note(f"PocketSphinx WER {ps:.3f} vs end-to-end {e2e:.3f} on {len(idx)} clean digit utterances of unseen voices: "
                "the classical model was trained on human US-English speech and meets espeak's formant voices "
                "for the first time; the CTC model was trained on nothing else, but on other voices.")


# -- 5. speaker verification -------------------------------------------------------------------------------
def _speakers(result: LabResult, cfg: Config, data, out) -> None:
    """Speaker cues live in the long-term spectrum that per-utterance normalisation removes: the x-vector reads
    log-mel standardised with one global mean and deviation (from the training utterances) instead."""
    from sklearn.metrics import roc_curve

    train = [i for i, u in enumerate(data.items) if u.split == "train"][:: cfg.xvector_stride]
    rng = np.random.default_rng(cfg.seed)
    test = [i for i, u in enumerate(data.items) if u.split == "test"]
    test = sorted(rng.choice(test, size=min(len(test), 160), replace=False).tolist())
    raw = {i: log_mel_frames(data.audio(i, clean=True)) for i in train + test}  # enrolment-quality audio
    stacked = np.concatenate([raw[i] for i in train])
    mu, sd = stacked.mean(0), stacked.std(0) + 1e-5
    feats = {i: (f - mu) / sd for i, f in raw.items()}
    net = verification.train_xvector([feats[i] for i in train], [data.items[i].variant for i in train],
                                     cfg.xvector_epochs, seed=cfg.seed)
    spk = [data.items[i].variant for i in test]
    scores, same = verification.cosine_pairs(verification.embed(net, [feats[i] for i in test]), spk)
    e = result.metric("speaker/eer", metrics.eer(scores, same))
    fpr, tpr, _ = roc_curve(same, scores, drop_intermediate=False)
    j = int(np.argmin(np.abs((1 - tpr) - fpr)))
    result.check("EER from scratch vs EER read off scikit-learn's ROC (same scores)", abs(e - (fpr[j] + 1 - tpr[j]) / 2),
                 reference=0.0, tolerance=1e-12, source=SKLEARN_ROC, kind="at_most")
    mean_feats = np.stack([feats[i].mean(0) for i in test])  # untrained baseline: cosine of mean log-mel
    base, _ = verification.cosine_pairs(mean_feats - mean_feats.mean(0), spk)
    result.metric("speaker/eer_mean_logmel_baseline", metrics.eer(base, same))
    result.metric("speaker/pairs", len(scores))
    result.check(f"speaker verification EER on unseen speakers, at most {cfg.max_eer} (chance 0.5)", e,
                 reference=cfg.max_eer, tolerance=0.0,
                 source="issue 19: EER well below 0.5 (chance)", kind="at_most")
    fig, ax = plots.figure(1, 1, size=(5, 3.5))
    ax.hist(scores[same], 30, alpha=0.6, density=True, label="same speaker")
    ax.hist(scores[~same], 30, alpha=0.6, density=True, label="different speakers")
    ax.set(xlabel="cosine of x-vectors", title=f"Unseen speakers: EER {e:.3f}")
    ax.legend()
    result.artifact(plots.save(fig, out / "verification.png"))


# -- 6. VAD ------------------------------------------------------------------------------------------------
def _vad(result: LabResult, cfg: Config, data) -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(cfg.seed + 1)
    test = [i for i, u in enumerate(data.items) if u.split == "test"]
    f1, f1_energy, edges, agree = [], [], [], []
    for i in rng.choice(test, size=min(cfg.vad_clips, len(test)), replace=False):
        clip = vad.pad_with_noise(data.audio(int(i), clean=True), rng)
        seconds = len(clip.audio) / 16000
        truth = vad.frames([(clip.start, clip.end)], seconds)
        segs = vad.detect(clip.audio)
        pred = vad.frames(segs, seconds)
        f1.append(metrics.frame_f1(truth, pred))
        agree.append(abs(f1[-1] - f1_score(truth, pred, zero_division=0.0)))
        f1_energy.append(metrics.frame_f1(truth, vad.frames(vad.energy_vad(clip.audio), seconds)))
        if segs:
            edges += [abs(segs[0][0] - clip.start), abs(segs[-1][1] - clip.end)]
    result.check("frame F1 from scratch vs scikit-learn (max |Δ| over clips)", result.metric("vad/f1_max_diff_vs_sklearn",
                 max(agree)), reference=0.0, tolerance=1e-12, source=SKLEARN_F1, kind="at_most")
    result.metric("vad/silero_frame_f1", float(np.mean(f1)))
    result.metric("vad/energy_frame_f1", float(np.mean(f1_energy)))
    ms = result.metric("vad/silero_boundary_error_ms", 1000 * float(np.median(edges)) if edges else 1e9, unit="ms")
    result.check("Silero VAD median boundary error (ms) within its own resolution: 100 ms of silence to end a segment",
                 ms, reference=100.0, tolerance=0.0, source="silero-vad get_speech_timestamps defaults: "
                 "min_silence_duration_ms = 100, speech_pad_ms = 30, 32 ms chunks; truth known to the sample", kind="at_most")


# -- 7. Mandarin -------------------------------------------------------------------------------------------
def _mandarin(result: LabResult, cfg: Config, data, feats, held) -> None:
    digits = ("digit", "digits")
    train = _idx(data, held, language="zh", kind=digits, split="train", seen=False)
    rec = train_recognizer([feats[i] for i in train], [data.items[i].words for i in train], "", cfg.zh_epochs,
                           cfg.channels, seed=cfg.seed)
    test = _idx(data, held, language="zh", kind=digits, split="test")
    hyp = [rec.decode(lp) for lp in rec.log_probs([feats[i] for i in test])]
    refs = [data.items[i].text for i in test]
    c = result.metric("zh/cer_unseen", metrics.cer(refs, hyp))
    en = _idx(data, held, language="en", kind=digits, split="test")
    result.metric("zh/utterances_train", len(train))
    result.check(f"Mandarin digits, character error rate on unseen voices, at most {cfg.max_zh_cer}", c,
                 reference=cfg.max_zh_cer,
                 tolerance=0.0, source="issue 19 (a stated threshold)", kind="at_most")
    result.note(f"Mandarin digits: CER {c:.3f} on unseen voices ({len(en)} English digit utterances for comparison "
                "in e2e/*). Each digit is one syllable (initial + final + tone); 一 yi1 and 七 qi1 differ only in the "
                "initial, and no two digits differ only in tone, so tone is not needed to tell them apart here.")
