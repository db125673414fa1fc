"""The modern decoder block: RMSNorm, SwiGLU, pre-LN, RoPE; pre- vs post-LN at depth; position methods past
the training length; RoPE context extension by PI, NTK-aware scaling and YaRN (topic 42).

What this lab shows
  1. Our decoder layer (pre-LN, RMSNorm, grouped-query attention with RoPE, SwiGLU) reproduces every one of the
     30 LlamaDecoderLayers of the real SmolLM2-135M on the same hidden states.
  2. Pre-LN vs post-LN (Xiong et al. 2020): character LMs on Shakespeare at a large learning rate with no
     warm-up. Post-LN trains as well as pre-LN when shallow and stalls near the unigram loss when deep; pre-LN
     trains at every depth. Paired over several initialisations (the same initial weights for both).
     The full preset sweeps depth and adds a linear warm-up to both.
  3. SwiGLU vs GELU at equal parameters (Shazeer 2020): full preset, paired over initialisations.
  4. Length: RoPE, learned absolute positions and ALiBi trained at L characters, evaluated at L, 2L, 4L (and 8L
     in full). ALiBi's loss stays flat past L; RoPE's and the learned table's rise (Press et al. 2022).
  5. RoPE context extension applied to the trained RoPE model without training (zero-shot): position
     interpolation (Chen et al. 2023), NTK-aware base change and YaRN (Peng et al. 2023); the full preset
     adds PI with a short fine-tune at 4L, as Chen et al. do, beside a plain fine-tune at 4L.
  6. Plots: loss vs depth (pre/post, with and without warm-up) and loss vs evaluation length for every method.

Differences from the references
  - Character-level models of 1-6 layers, 32-48 wide, trained for a few hundred steps on one CPU thread; the
    papers train 6-48-layer word-piece models for 10⁴-10⁵ steps. The orderings are the papers'; the sizes are not.
  - Xiong et al. use warm-up then inverse-square-root decay; we use cosine decay with or without a linear warm-up,
    so that the warm-up is the only difference between two runs.
  - Positions beyond L in the learned table keep their random initial rows (as a GPT-2-style table does when
    trained on short sequences); Press et al. compare sinusoidal positions, which need no table.
  - SmolLM2 beyond its 8,192-token context (the issue asks for it where CPU time allows) is not run: one forward
    pass at 16k tokens costs about 2·10¹³ FLOPs (computed in the run and noted), minutes per window on this CPU.

Building blocks: modelbook/nn/blocks.py (decoder layer and LM with norm/FFN/position variants),
                 modelbook/nn/positions.py (RoPE scalings, ALiBi), modelbook/nn/llama.py (RMSNorm, SwiGLU)
Cross-checks:    tests/nn/test_blocks.py (= transformers' LlamaDecoderLayer and LlamaForCausalLM with linear and YaRN
                 RoPE; pre/post-LN and ALiBi layers = torch's nn.TransformerEncoderLayer), tests/nn/test_positions.py
                 (PI, NTK, YaRN = transformers' ROPE_INIT_FUNCTIONS; ALiBi slopes = the paper's and BLOOM's)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.errors import ModelbookError
from modelbook.core.result import LabResult
from modelbook.core.schedules import cosine_with_warmup
from modelbook.core.train import LRSchedule, TrainingDiverged, fit
from modelbook.nlp.charlm import CharVocab, RandomWindows, evaluate
from modelbook.nn.blocks import DecoderConfig, DecoderLayer, DecoderLM, with_rope_scaling
from modelbook.nn.positions import RopeScaling, rope_cos_sin, rope_inv_freq

SENTENCE = "The decoder block is normalised, attended, gated and added back, thirty times over."
TRANSFORMERS = "transformers 5.24 LlamaDecoderLayer inside SmolLM2-135M-Instruct, same hidden states"
ADAM_BETAS = (0.9, 0.98)  # Xiong et al. 2020 and Vaswani et al. 2017 train with β₂ = 0.98
N_HEADS = 4  # every small model here: 4 heads (head dim 8 at width 32, 12 at width 48)
POSITIONS = ("rope", "alibi", "learned")
SCALINGS = ("linear", "ntk", "yarn")  # PI, NTK-aware, YaRN: applied to the RoPE model after training
LABELS = {"rope": "RoPE", "alibi": "ALiBi", "learned": "learned table", "rope+linear": "RoPE + PI (zero-shot)",
          "rope+ntk": "RoPE + NTK-aware", "rope+yarn": "RoPE + YaRN", "rope+pi_ft": "RoPE + PI, fine-tuned",
          "rope+plain_ft": "RoPE, fine-tuned at 4L"}
SMOLLM2_BEYOND = 16_384  # the context SmolLM2 would be evaluated at beyond its 8,192 (only its cost is computed)


@dataclass(frozen=True)
class Config:
    train_chars: int = 1_000_000
    """Shakespeare characters to train on (the held-out tail is never among them)"""
    val_chars: int = 8_192
    """held-out characters every model is evaluated on (the end of the corpus)"""
    batch: int = 16
    """sequences per training step"""
    # -- pre-LN vs post-LN --
    ln_depths: tuple[int, ...] = (1, 2, 3, 4, 6)
    """layers of the pre/post-LN models; the checks use the deepest (and, in full, the shallowest)"""
    ln_width: int = 32
    """model width of the pre/post-LN models (4 heads of 8)"""
    ln_steps: int = 200
    ln_lr: float = 3e-2
    """peak Adam learning rate: large enough that deep post-LN stalls without warm-up"""
    ln_warmup: int = 60
    """linear warm-up steps of the with-warm-up runs (0 = no such runs)"""
    ln_inits: int = 3
    """paired initialisations per depth (pre and post start from the same weights)"""
    ln_block: int = 32
    """training sequence length of the pre/post-LN models"""
    ln_positions: str = "rope"
    """position method of the pre/post-LN models ('rope' or 'learned': a table costs fewer operations per layer)"""
    # -- SwiGLU vs GELU --
    ffn_steps: int = 400
    """training steps of each SwiGLU and GELU model (0 = skip the comparison)"""
    ffn_inits: int = 3
    """paired initialisations (SwiGLU and GELU start from the same draw and see the same windows)"""
    ffn_block: int = 64
    """training and evaluation sequence length of the SwiGLU/GELU models"""
    # -- positions and length --
    train_length: int = 32
    """L: the context every position method is trained at"""
    eval_factors: tuple[int, ...] = (1, 2, 4, 8)
    """evaluation lengths as multiples of L (1, 2 and 4 are needed by the checks)"""
    len_width: int = 48
    """model width of the position-method and SwiGLU/GELU models (4 heads of 12; 8d/3 = 128 for SwiGLU)"""
    len_layers: int = 2
    """layers of the position-method and SwiGLU/GELU models"""
    len_steps: int = 600
    """training steps of each position-method model, at length L"""
    len_inits: int = 3
    """initialisations per position method (the loss curves are averaged over them)"""
    lr: float = 3e-3
    """peak Adam learning rate of the SwiGLU/GELU and position models"""
    ft_steps: int = 100
    """fine-tuning steps at 4L for PI and for plain RoPE (0 = skip; Chen et al. use 1,000 at 7B)"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): small models are fastest on one"""


PRESETS = {
    "quick": Config(train_chars=300_000, val_chars=4_096, ln_depths=(3,), ln_steps=100, ln_warmup=0, ln_inits=2, ffn_steps=0,
                    eval_factors=(1, 2, 4), len_steps=120, len_inits=1, ft_steps=0),
    "full": Config(),
}
# Margins of the checks, each below the smallest effect seen over seeds 0, 1234567 and 11..15 (quick) and in full:
# a margin above zero also makes a comparison of two identical arms (a feature switched off) fail.
# nats: ALiBi's loss at 4L may exceed its loss at L by at most this (measured −0.006..+0.001 over seeds; the same model
# with ALiBi's slopes set to 0, no position signal at all, rises 0.007-0.010)
ALIBI_FLAT = 0.005
LN_GAP = 0.1  # nats: smallest paired post-LN − pre-LN gap at depth, and its growth with depth (measured: 0.24-0.44)
RISE_MARGIN = 0.005  # nats: RoPE's and the learned table's rise from L to 4L above ALiBi's (measured: 0.014-0.045)
NTK_MARGIN = 0.03  # nats: zero-shot PI's loss at 4L above NTK-aware's (measured: 0.06-0.16)
FFN_MARGIN = 0.01  # nats: GELU's loss above SwiGLU's, smallest paired gap (measured: 0.05-0.08)


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("decoder-block", cfg)
    if min(cfg.eval_factors) != 1 or not {2, 4} <= set(cfg.eval_factors):
        raise ModelbookError(f"eval_factors must include 1, 2 and 4 (got {cfg.eval_factors})")
    _smollm2_layers(result)
    vocab, train, val = _shakespeare(cfg)
    result.metric("data/vocab", len(vocab))
    result.metric("data/train_chars", len(train))
    _pre_vs_post(result, cfg, vocab, train, val, out)
    if cfg.ffn_steps:
        _swiglu_vs_gelu(result, cfg, vocab, train, val)
    _length(result, cfg, vocab, train, val, out)
    return result


# -- 1. our layer = transformers' LlamaDecoderLayer on SmolLM2 -------------------------------------------------
def _smollm2_layers(result: LabResult) -> None:
    from modelbook.models import load_smollm2
    from modelbook.models.hooks import capture_io

    with progress.status("loading SmolLM2-135M"):
        model, tokenizer = load_smollm2()
    ids = tokenizer(SENTENCE, return_tensors="pt")["input_ids"]
    layers = model.model.layers
    captured = capture_io(model, layers, ids)                       # (hidden states in, output) per decoder layer
    config = model.config
    head_dim = config.head_dim
    base = config.rope_parameters["rope_theta"]
    cos, sin = rope_cos_sin(torch.arange(ids.shape[1]), rope_inv_freq(head_dim, base))
    abs_diff, rel_diff = 0.0, 0.0
    with torch.no_grad():
        for i, layer in enumerate(progress.track(layers, "SmolLM2 decoder layers")):
            x, ref = captured[i]
            got = DecoderLayer.from_llama(layer, config)(x, cos, sin)
            diff = float((got - ref).abs().max())
            abs_diff, rel_diff = max(abs_diff, diff), max(rel_diff, diff / float(ref.abs().max()))
    result.metric("smollm2/layers_compared", len(layers))
    result.metric("smollm2/layer_max_abs_diff", abs_diff)
    result.metric("smollm2/layer_max_rel_diff", rel_diff)
    result.check(f"our decoder layer (pre-LN RMSNorm, GQA + RoPE, SwiGLU) vs all {len(layers)} SmolLM2-135M decoder layers "
                 "(max |diff| / max |output|)", rel_diff, reference=0.0, tolerance=1e-5, source=TRANSFORMERS, kind="at_most",
                 note=f"max absolute difference {abs_diff:.2g}")
    # the "beyond its training context": the cost of one 16k-token window, from the config
    n_params = sum(p.numel() for p in model.parameters()) - model.model.embed_tokens.weight.numel()
    flops = 2 * n_params * SMOLLM2_BEYOND + 4 * config.num_hidden_layers * SMOLLM2_BEYOND ** 2 * config.hidden_size
    result.metric("smollm2/forward_flops_at_16k", flops, "FLOP")
    result.note(f"SmolLM2-135M was trained to a {config.max_position_embeddings:,}-token context; one forward pass over "
                f"{SMOLLM2_BEYOND:,} tokens costs ≈ {flops:.1e} FLOPs (2·N·T for the weights + 4·layers·T²·d for attention), "
                f"minutes per window at this CPU's speed, so the RoPE scalings are measured on our small models instead")


# -- data --------------------------------------------------------------------------------------------------
def _shakespeare(cfg: Config) -> tuple[CharVocab, torch.Tensor, torch.Tensor]:
    from modelbook.data.text import shakespeare, shakespeare_heldout

    held = shakespeare_heldout()
    text = shakespeare()
    corpus = text[:len(text) - len(held)]
    vocab = CharVocab(corpus)  # every character of the training plays (the tail's unseen ones map to id 0)
    return vocab, vocab.encode(corpus[:cfg.train_chars]), vocab.encode(held[:cfg.val_chars + 1])


def train_lm(model: DecoderLM, train: torch.Tensor, steps: int, lr: float, block: int, batch: int, stream: int,
             warmup: int = 0, description: str = "training") -> bool:
    """Adam with cosine decay (after a linear warm-up if warmup > 0) on random windows; False if it diverged."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=ADAM_BETAS, fused=True)  # fused: one kernel for all tensors
    windows = RandomWindows(train, block, batch, steps, seed=stream)
    try:
        fit(model, windows, opt, 1, loss_fn=lambda m, b: m(b[0], b[1]), max_grad_norm_alert=math.inf,
            callbacks=[LRSchedule(cosine_with_warmup(opt, warmup, steps), interval="step")], description=description)
    except TrainingDiverged:
        return False
    return True


def _new_model(cfg: DecoderConfig, stream: int) -> DecoderLM:
    torch.manual_seed(stream)  # the initial weights: the same stream gives the same weights to two variants
    return DecoderLM(cfg)


# -- 2. pre-LN vs post-LN ----------------------------------------------------------------------------------
def pre_post_losses(cfg: Config, vocab_size: int, train: torch.Tensor, val: torch.Tensor, depth: int, warmup: int,
                    placements: tuple[str, str] = ("pre", "post")) -> dict[str, list[float]]:
    """Validation nats of pre- and post-LN models of `depth` layers, one per paired initialisation.

    `placements` names the two variants' norm placement (a test swaps in ("pre", "pre") to show the check's
    criterion then fails). A run that diverges scores ln V, the loss of a uniform guess."""
    losses: dict[str, list[float]] = {"pre": [], "post": []}
    for i in range(cfg.ln_inits):
        stream = cfg.seed * 1000 + 10 * depth + i  # init and windows of pair i at this depth, shared by pre and post
        for name, placement in zip(("pre", "post"), placements):
            model_cfg = DecoderConfig(vocab_size, cfg.ln_width, depth, N_HEADS, norm="layer", placement=placement,
                                      positions=cfg.ln_positions, init="fan_in")
            model = _new_model(model_cfg, stream)
            ok = train_lm(model, train, cfg.ln_steps, cfg.ln_lr, cfg.ln_block, cfg.batch, stream, warmup,
                          f"{name}-LN, {depth} layers, warm-up {warmup}, init {i + 1}/{cfg.ln_inits}")
            losses[name].append(evaluate(model, val, cfg.ln_block) if ok else math.log(vocab_size))
    return losses


def smallest_gap(losses: dict[str, list[float]]) -> float:
    """min over pairs of (post-LN − pre-LN) validation nats."""
    return min(b - a for a, b in zip(losses["pre"], losses["post"]))


def gap_growth(shallow: dict[str, list[float]], deep: dict[str, list[float]]) -> float:
    """The smallest post − pre gap at depth minus the mean gap when shallow: how much post-LN's deficit grows."""
    return smallest_gap(deep) - float(np.mean(np.subtract(shallow["post"], shallow["pre"])))


def _pre_vs_post(result: LabResult, cfg: Config, vocab: CharVocab, train, val, out: Path) -> None:
    warmups = (0, cfg.ln_warmup) if cfg.ln_warmup else (0,)
    table: dict[tuple[int, int], dict[str, list[float]]] = {}
    for depth in cfg.ln_depths:
        for warmup in warmups:
            losses = table[depth, warmup] = pre_post_losses(cfg, len(vocab), train, val, depth, warmup)
            tag = f"ln/depth{depth}" + (f"_warmup{warmup}" if warmup else "")
            result.metric(f"{tag}/pre_val_nats", float(np.mean(losses["pre"])), "nats/char")
            result.metric(f"{tag}/post_val_nats", float(np.mean(losses["post"])), "nats/char")
            result.metric(f"{tag}/smallest_post_minus_pre", smallest_gap(losses), "nats/char")
    deep, shallow = max(cfg.ln_depths), min(cfg.ln_depths)
    gap = smallest_gap(table[deep, 0])
    unigram = _unigram_nats(train, val, len(vocab))
    result.metric("data/unigram_val_nats", unigram, "nats/char")
    result.check(f"post-LN − pre-LN validation loss at {deep} layers, lr {cfg.ln_lr:g}, no warm-up "
                 f"(smallest of {cfg.ln_inits} paired inits)", gap, reference=LN_GAP, tolerance=0.0, kind="at_least",
                 source="Xiong et al. 2020 (On Layer Normalization in the Transformer Architecture) §3-4: without warm-up "
                        "post-LN trains worse; pre-LN does not need warm-up",
                 note=f"pre-LN {np.mean(table[deep, 0]['pre']):.2f}, post-LN {np.mean(table[deep, 0]['post']):.2f} nats/char; "
                      f"add-½ unigram baseline {unigram:.2f}")
    if shallow < deep:
        growth = gap_growth(table[shallow, 0], table[deep, 0])
        result.metric("ln/gap_growth_shallow_to_deep", growth, "nats/char")
        result.check(f"post-LN's disadvantage grows with depth: smallest gap at {deep} layers − mean gap at {shallow}",
                     growth, reference=LN_GAP, tolerance=0.0, kind="at_least",
                     source="Xiong et al. 2020 §3: the post-LN gradient at the output layers does not shrink with depth, "
                            "pre-LN's does (1/√L)")
    if cfg.ln_warmup:
        result.note("with a linear warm-up of " + f"{cfg.ln_warmup} steps: " + ", ".join(
            f"{d} layers pre {np.mean(table[d, cfg.ln_warmup]['pre']):.2f} / post {np.mean(table[d, cfg.ln_warmup]['post']):.2f}"
            for d in cfg.ln_depths) + " nats/char (without: " + ", ".join(
            f"{d}: {np.mean(table[d, 0]['pre']):.2f} / {np.mean(table[d, 0]['post']):.2f}" for d in cfg.ln_depths) + ")")
    fig, ax = plots.figure()
    for warmup, style in zip(warmups, ("-", "--")):
        for name, color in (("pre", "C0"), ("post", "C3")):
            ax.plot(cfg.ln_depths, [np.mean(table[d, warmup][name]) for d in cfg.ln_depths], "o" + style, color=color,
                    label=f"{name}-LN" + (f", warm-up {warmup}" if warmup else ", no warm-up"))
    ax.axhline(unigram, color="#999", lw=1, ls=":", label="unigram baseline")
    ax.set(xlabel="layers", ylabel="validation nats / character",
           title=f"Pre- vs post-LN, lr {cfg.ln_lr:g}, {cfg.ln_steps} steps, mean of {cfg.ln_inits} inits")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "pre_vs_post_ln.png"))


def _unigram_nats(train: torch.Tensor, val: torch.Tensor, vocab_size: int) -> float:
    counts = torch.bincount(train, minlength=vocab_size).double() + 0.5  # add-½ smoothing
    return float(-(counts / counts.sum()).log()[val].mean())


# -- 3. SwiGLU vs GELU at equal parameters ----------------------------------------------------------------
def ffn_losses(cfg: Config, vocab_size: int, train, val, ffns: tuple[str, str] = ("swiglu", "gelu")) -> tuple[dict, dict]:
    """Validation nats of the SwiGLU and GELU models per paired init, and their parameter counts. `ffns` names the
    feed-forward each arm really gets (a test passes ("gelu", "gelu") to switch SwiGLU off)."""
    losses: dict[str, list[float]] = {"swiglu": [], "gelu": []}
    params = {}
    for i in range(cfg.ffn_inits):
        stream = cfg.seed * 1000 + 500 + i  # init i of the FFN comparison: the same windows for both
        for name, ffn in zip(("swiglu", "gelu"), ffns):
            model = _new_model(DecoderConfig(vocab_size, cfg.len_width, cfg.len_layers, N_HEADS, ffn=ffn), stream)
            params[name] = sum(p.numel() for p in model.parameters())
            train_lm(model, train, cfg.ffn_steps, cfg.lr, cfg.ffn_block, cfg.batch, stream, description=f"{name}, init {i + 1}")
            losses[name].append(evaluate(model, val, cfg.ffn_block))
    return losses, params


def _swiglu_vs_gelu(result: LabResult, cfg: Config, vocab: CharVocab, train, val) -> None:
    losses, params = ffn_losses(cfg, len(vocab), train, val)
    gaps = np.subtract(losses["gelu"], losses["swiglu"])
    for ffn in losses:
        result.metric(f"ffn/{ffn}_val_nats", float(np.mean(losses[ffn])), "nats/char")
        result.metric(f"ffn/{ffn}_params", params[ffn])
    result.metric("ffn/gelu_minus_swiglu_mean", float(gaps.mean()), "nats/char")
    result.metric("ffn/gelu_minus_swiglu_min", float(gaps.min()), "nats/char")
    result.check(f"GELU − SwiGLU validation loss at equal parameters ({params['swiglu']:,}), smallest of {cfg.ffn_inits} paired inits",
                 float(gaps.min()), reference=FFN_MARGIN, tolerance=0.0, kind="at_least",
                 source="Shazeer 2020 (GLU Variants Improve Transformer) Table 1: at equal parameters and steps (d_ff 2048 "
                        "gated vs 3072), SwiGLU's held-out log-perplexity is below GELU's",
                 note="GELU − SwiGLU per init: " + ", ".join(f"{g:+.3f}" for g in gaps) + " nats/char")


# -- 4 and 5. positions past the training length; RoPE scalings -------------------------------------------
def _length(result: LabResult, cfg: Config, vocab: CharVocab, train, val, out: Path) -> None:
    L = cfg.train_length
    lengths = [f * L for f in cfg.eval_factors]
    curves: dict[str, list[list[float]]] = {}
    for i in range(cfg.len_inits):
        for pos in POSITIONS:
            model, row = position_losses(cfg, len(vocab), train, val, pos, i)
            curves.setdefault(pos, []).append(row)
            if pos != "rope":
                continue
            for kind, row in scaled_rope_losses(model, val, L, lengths).items():
                curves.setdefault(f"rope+{kind}", []).append(row)
            if cfg.ft_steps:
                _fine_tunes(cfg, model, train, val, lengths, curves, cfg.seed * 1000 + 700 + i)
    mean = {name: np.mean(rows, axis=0) for name, rows in curves.items()}
    at = {n: lengths.index(n * L) for n in (1, 2, 4)}
    for name, values in mean.items():
        for n, v in zip(lengths, values):
            result.metric(f"length/{name}/val_nats_at_{n}", float(v), "nats/char")
    rise = {name: float(mean[name][at[4]] - mean[name][at[1]]) for name in POSITIONS}
    for name, r in rise.items():
        result.metric(f"length/{name}/rise_L_to_4L", r, "nats/char")
    result.check(f"ALiBi: loss at 4L = {4 * L} − loss at L = {L} (trained at L)", rise["alibi"], reference=0.0,
                 tolerance=ALIBI_FLAT, kind="at_most",
                 source="Press et al. 2022 (Train Short, Test Long) Fig. 1: ALiBi's perplexity does not rise past L")
    result.check("loss rise from L to 4L: RoPE's and the learned table's exceed ALiBi's (the smaller of the two margins)",
                 rise_margin(rise), reference=RISE_MARGIN, tolerance=0.0, kind="at_least",
                 source="Press et al. 2022 §2: position embeddings (sinusoidal, rotary) degrade past L; ALiBi extrapolates",
                 note=f"rise RoPE {rise['rope']:+.3f}, learned {rise['learned']:+.3f}, ALiBi {rise['alibi']:+.3f} nats/char")
    pi, ntk = mean["rope+linear"][at[4]], mean["rope+ntk"][at[4]]
    result.check("RoPE at 4L, no training: PI's loss − NTK-aware's", float(pi - ntk), reference=NTK_MARGIN, tolerance=0.0,
                 kind="at_least",
                 source="Peng et al. 2023 (YaRN) §3: PI compresses the high-frequency pairs, so without fine-tuning it loses "
                        "local detail; the NTK-aware base change keeps them",
                 note=f"4L: plain RoPE {mean['rope'][at[4]]:.3f}, PI {pi:.3f}, NTK {ntk:.3f}, YaRN {mean['rope+yarn'][at[4]]:.3f}")
    if "rope+pi_ft" in mean:
        result.note(f"after {cfg.ft_steps} fine-tuning steps at 4L: PI {mean['rope+pi_ft'][at[4]]:.3f}, plain RoPE "
                    f"{mean['rope+plain_ft'][at[4]]:.3f} nats/char at 4L (before: RoPE {mean['rope'][at[1]]:.3f} at L)")
    _plot_lengths(result, cfg, lengths, mean, out)


def rise_margin(rise: dict[str, float]) -> float:
    """How far the smaller of RoPE's and the learned table's loss rises (L to 4L) exceed ALiBi's."""
    return min(rise["rope"], rise["learned"]) - rise["alibi"]


def position_losses(cfg: Config, vocab_size: int, train, val, positions: str, init: int) -> tuple[DecoderLM, list[float]]:
    """Train a model with this position method at L; its validation nats at each evaluation length."""
    L = cfg.train_length
    lengths = [f * L for f in cfg.eval_factors]
    stream = cfg.seed * 1000 + 700 + init  # init i of the position methods: the same weights draw and windows for each
    model_cfg = DecoderConfig(vocab_size, cfg.len_width, cfg.len_layers, N_HEADS, positions=positions, max_positions=max(lengths))
    model = _new_model(model_cfg, stream)
    train_lm(model, train, cfg.len_steps, cfg.lr, L, cfg.batch, stream, description=f"{positions} at L = {L}, init {init + 1}")
    return model, [evaluate(model, val, n) for n in lengths]


def scaled_rope_losses(model: DecoderLM, val, L: int, lengths, scalings=SCALINGS) -> dict[str, list[float]]:
    """Zero-shot context extension: each scaling with factor (evaluation length / L), no training."""
    rows = {}
    for kind in scalings:
        rows[kind] = []
        for n in lengths:
            with_rope_scaling(model, RopeScaling(kind, n / L, L))
            rows[kind].append(evaluate(model, val, n))
    with_rope_scaling(model, RopeScaling())
    return rows


def _fine_tunes(cfg: Config, model: DecoderLM, train, val, lengths, curves, stream: int) -> None:
    """Chen et al. 2023: PI then a short fine-tune at the new length; beside it, the same fine-tune without PI."""
    long = 4 * cfg.train_length
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for name, scaling in (("pi_ft", RopeScaling("linear", 4.0, cfg.train_length)), ("plain_ft", RopeScaling())):
        model.load_state_dict(state)
        with_rope_scaling(model, scaling)
        # the same tokens per step as pre-training: a quarter of the sequences, each 4× longer
        train_lm(model, train, cfg.ft_steps, cfg.lr / 10, long, max(1, cfg.batch // 4), stream + 50,
                 description=f"fine-tune at {long}: {name}")
        row = []
        for n in lengths:  # PI: factor 4 up to 4L, then n / L beyond; plain: no scaling
            if name == "pi_ft":
                with_rope_scaling(model, RopeScaling("linear", max(4.0, n / cfg.train_length), cfg.train_length))
            row.append(evaluate(model, val, n))
        curves.setdefault(f"rope+{name}", []).append(row)
    model.load_state_dict(state)
    with_rope_scaling(model, RopeScaling())


def _plot_lengths(result: LabResult, cfg: Config, lengths, mean, out: Path) -> None:
    fig, ax = plots.figure()
    for name, values in mean.items():
        ax.plot(lengths, values, "o-" if "+" not in name else "s--", label=LABELS[name])
    ax.axvline(cfg.train_length, color="#999", lw=1, ls=":")
    ax.set(xscale="log", xlabel="evaluation length (characters)", ylabel="validation nats / character",
           title=f"Trained at L = {cfg.train_length}, mean of {cfg.len_inits} init(s)")
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.minorticks_off()
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "loss_vs_length.png"))
