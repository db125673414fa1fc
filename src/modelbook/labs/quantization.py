"""Quantization: int8/int4/binary weights, calibration, a mixed bit-width plan, mixed-precision training (topics 2, 23, 27).

What this lab shows
  1. The quantizer from scratch: our scales, zero points and integers equal torch.ao's bit for bit; SQNR
     rises ≈ 6 dB per bit; per-channel beats per-tensor on weights, asymmetric beats symmetric on post-ReLU
     activations. Our dynamic int8 linear layers equal torch.ao.quantization.quantize_dynamic.
  2. A Fashion-MNIST CNN: fp32 vs static int8 PTQ (ours, min-max and percentile calibration; and torch.ao's
     FX PTQ with real int8 kernels) vs binary weights (BinaryConnect + XNOR scaling, STE): accuracy and size.
  3. SmolLM2-135M: fp32 vs int8 weight-only vs group-wise int4 (integer zero point, symmetric, fp16 offset):
     model size, perplexity on held-out Shakespeare, decode tokens/s.
  4. Layer-wise sensitivity (each block of layers alone at int4, the rest int8) -> a mixed int4/int8 plan
     under a size budget, against a plan of the same size that ignores sensitivity.
  5. Mixed precision: bf16 autocast vs fp32 training of the CNN (accuracy, time); the fp16 and bf16 number
     lines (measured on all 65,536 bit patterns vs the IEEE 754 formulas); fp16 gradients underflowing to zero,
     fixed by dynamic loss scaling (accuracy vs fp32, paired over several initialisations).

Differences from the references
  - PyTorch's BERT tutorial (dynamic int8, 438 -> 181 MB, F1 0.9019 -> 0.902) uses bert-base on MRPC; we
    check the same claim (int8 costs almost nothing) on our models: accuracy within 1 point, perplexity within 5%.
  - SmolLM2 ships as a GGUF Q4_1 file: its "fp32" weights are dequantized 4-bit values (group 32, fp16 scale
    and offset), and its embedding was Q8_0. Re-quantizing to 4 bits therefore stacks two roundings unless
    the new grid is the old one: int4 with an fp16 offset and group 32 (the Q4_1 format) comes closest.
  - The quick preset scores perplexity on 128 tokens and scans 5 blocks of 6 layers; the full preset uses
    4,096 tokens and scans all 30 layers. The held-out text is modelbook.data.shakespeare_heldout(40_000)
    (the last 40,000 characters of the corpus, 12,416 SmolLM2 tokens); the sensitivity scan uses the tokens
    right after the scored ones, so the plan is not chosen on the numbers it is judged by.
  - The fp16 underflow demo multiplies the loss by 2⁻²⁰ (step size scaled back up) to stand in for the tiny
    gradients of deep models (Micikevicius et al. 2018, Fig. 3); the CPU computes fp16 slowly, so it is small.
    One short training swings by a few points of accuracy with its initialisation, so fp16 + loss scaling is
    compared with fp32 on the mean over fp16_pairs paired runs (same initialisation and batches in each pair).

Design notes
  - One model, many bit-width plans: each SmolLM2 Linear is quantized once per scheme and modules are swapped in
    place for each plan (no 540 MB model copies); the tied embedding table becomes a view on the quantized output
    head, so it is stored once, as in GGUF files. SmolLM2's packaged weights are Q4_1 already: results say so, and
    an int4 scheme with an fp16 offset (Q4_1's own grid) is measured beside the others.

Building blocks: modelbook/compression/{quantize,qlinear,ptq,binary,precision,llm,mixed,workbench}.py
Cross-checks:    tests/compression/test_quantize.py, test_qlinear.py, test_ptq.py, test_binary.py, test_precision.py,
                 test_mixed.py (plans applied in place = quantize_linears on a copy; guided choice = brute force;
                 sensitivity scan = KL of each plan on a copy)
"""
from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modelbook.compression import workbench as wb
from modelbook.compression.binary import binary_weight_bytes
from modelbook.compression.llm import decode_tokens_per_s, score
from modelbook.compression.mixed import PlanBench, block_plan, block_sensitivity, int4_blocks_for
from modelbook.compression.precision import (
    DynamicLossScaler,
    autocast_cross_entropy,
    float_extremes,
    fraction_lost_in_fp16,
    ieee754_extremes,
    train_fp16,
    worst_relative_error,
)
from modelbook.compression.ptq import (
    deployable_tensors,
    fold_batchnorm,
    int8_bytes,
    saved_bytes,
    static_quantize,
    torch_ao_static_quantize,
)
from modelbook.compression.qlinear import Int8DynamicLinear, model_bytes
from modelbook.compression.quantize import calibrate, fake_quantize, quantize, sqnr_db
from modelbook.core import plots, progress
from modelbook.core.measure import time_ratio
from modelbook.core.result import LabResult

TUTORIAL = "PyTorch tutorial 'Dynamic Quantization on BERT' (F1 0.9019 fp32 vs 0.902 int8; 438 -> 181 MB)"
TORCH_AO = "torch 2.13 torch.ao.quantization (MinMaxObserver, quantize_per_channel, quantize_dynamic), same tensors"
HELDOUT_CHARS = 40_000         # the held-out Shakespeare tail: 12,416 SmolLM2 tokens, enough for the full preset
SMOLLM2_LAYERS = 30            # SmolLM2-135M's decoder layers: a scan with fewer blocks is the quick scale
FULL_PPL_TOKENS = 1024         # fewer scored tokens than this is the quick scale (the note says so)
QUANTIZER_IMAGES = 500         # test images whose post-ReLU conv1 activations calibrate the per-tensor check
HEAD_IMAGES = 256              # test images whose features feed the dynamic int8 Linear stack
SQNR_BITS = (6, 7, 8)          # bit widths of the SQNR-per-bit slope (measured from the first to the last)
AO_EXAMPLE_IMAGES = 2          # example inputs torch.ao's FX tracer needs (it reads shapes, not values)
DECODE_PROMPT_TOKENS = 16      # the decode timing's prompt: the last tokens of the held-out text
DECODE_WARMUP = 1              # untimed decode runs before the timed one (first-call overheads)
EVEN_PLAN_MIN_BLOCKS = 10      # an evenly spaced plan only when there are enough blocks to spread over
FLOOR_EPS = 1e-9               # budget_fraction · blocks that is a whole number may land just below it in floats
STEP_IMAGES = 128              # the batch of the timed fp32 and bf16 training steps
STEP_REPEATS = 5               # timed repeats of each training step (alternating, core.measure.time_ratio)
LOSS_MULTIPLIER = 2.0**-20     # the underflow demo's loss factor: tiny gradients, as in deep nets (Micikevicius et al. Fig. 3)
LOSS_SCALES = (1.0, 2.0**8, 2.0**16)   # loss scales at which the share of fp16-flushed gradients is measured
FP16_MLP = (64, 32)            # hidden widths of the underflow demo's MLP (small: the CPU computes fp16 slowly)
FP16_PROBE_IMAGES = 256        # images whose gradients are histogrammed for the underflow plot
FP16_BATCH = 64                # batch size of the underflow demo's SGD
FORMATS = {"fp16": (torch.float16, 5, 11), "bf16": (torch.bfloat16, 8, 8)}  # dtype, exponent bits, significand bits (IEEE 754 §3.3)
INITIAL_LOSS_SCALE = 2.0**16   # torch.amp.GradScaler's default starting scale
SCALE_GROWTH_INTERVAL = 10     # steps without inf/NaN before the scale doubles (GradScaler's 2000 is for long runs)
LOSS_SCALING_MARGIN = 0.02     # fp16 + loss scaling may trail fp32 by this much accuracy, on the mean over the pairs


@dataclass(frozen=True)
class Config:
    n_train: int = 20_000
    """Fashion-MNIST training images (stratified subset) for the CNNs"""
    n_test: int = 10_000
    n_epochs: int = 4
    cnn: tuple[int, int, int] = (16, 32, 128)
    """CNN widths: conv1 channels, conv2 channels, hidden units"""
    lr: float = 2e-3
    n_calibration: int = 512
    """images used to calibrate static int8 activations"""
    calib_percentile: float = 99.99
    """percentile of each layer's inputs that sets its range in percentile calibration (min-max: 100)"""
    ppl_tokens: int = 4096
    """held-out tokens scored for perplexity"""
    ppl_window: int = 512
    scan_tokens: int = 1024
    """tokens (after the scored ones) used for the sensitivity scan"""
    scan_groups: int = 30
    """blocks of consecutive decoder layers in the scan (30 = every layer)"""
    budget_fraction: float = 0.25
    """size budget: all-int4 size + this fraction of the extra bytes an all-int8 model would take"""
    group_size: int = 32
    schemes: tuple[str, ...] = ("fp32", "int8", "int4", "int4_sym", "int4_float")
    """SmolLM2 variants to measure (fp32 and int8 are required; int4 = integer zero point)"""
    decode_tokens: int = 32
    """greedy tokens timed per variant for tokens/s (0 = skip)"""
    fp16_train: int = 2048
    fp16_epochs: int = 3
    fp16_lr: float = 0.03
    """SGD step size of the fp16 underflow demo (before dividing by the 2^-20 loss multiplier)"""
    fp16_pairs: int = 3
    """paired fp16 + loss scaling / fp32 trainings (own initialisation and batches) averaged for the comparison"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_train=3000, n_test=2000, n_epochs=2, cnn=(8, 16, 64), n_calibration=256, ppl_tokens=64,
                    ppl_window=64, scan_tokens=32, scan_groups=3, budget_fraction=0.34, schemes=("fp32", "int8", "int4"),
                    decode_tokens=0, fp16_train=2048, fp16_epochs=1, fp16_lr=0.1),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("quantization", cfg)
    split = wb.fashion_split(cfg.n_train, cfg.n_test, cfg.seed)
    torch.manual_seed(cfg.seed)
    cnn = wb.train(wb.small_cnn(*cfg.cnn), split, cfg.n_epochs, cfg.seed, lr=cfg.lr, description="fp32 CNN")
    with torch.no_grad():
        _quantizer(result, cnn, split)
    _cnn_int8_and_binary(result, cnn, split, cfg, out)
    _mixed_precision(result, split, cfg, cnn, out)
    with torch.no_grad():
        _smollm2(result, cfg, out)
    return result


# -- 1. the quantizer --------------------------------------------------------------------------------
def _quantizer(result: LabResult, cnn: nn.Sequential, split: wb.Split) -> None:
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

    w = cnn[3].weight.detach()  # conv2 filters (C_out, C_in, 3, 3)
    acts = cnn[:3](split.x_test[:QUANTIZER_IMAGES]).detach()  # post-ReLU conv1 activations (all >= 0)
    mismatches = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
        obs(acts)
        s, z = obs.calculate_qparams()
        ours = calibrate(acts, bits=8, symmetric=False)
        mismatches += int((quantize(acts, ours) != torch.quantize_per_tensor(acts, float(s), int(z), torch.quint8).int_repr().long()).sum())
        mismatches += int(abs(float(ours.scale) - float(s)) > 0) + int(int(ours.zero_point) != int(z))
        pobs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
        pobs(w)
        ps, pz = pobs.calculate_qparams()
        ours_c = calibrate(w, bits=8, symmetric=True, axis=0)
        ref = torch.quantize_per_channel(w, ps, pz, 0, torch.qint8).int_repr().long()
        mismatches += int((quantize(w, ours_c) != ref).sum()) + int((ours_c.scale != ps).sum())
    result.metric("quantizer/integer_mismatches_vs_torch_ao", mismatches)
    result.check("our scales, zero points and int8 codes vs torch.ao (per-tensor affine activations, per-channel "
                 "symmetric weights): mismatching values", mismatches, reference=0, tolerance=0, source=TORCH_AO, kind="at_most")

    sqnr = {b: sqnr_db(w, fake_quantize(w, calibrate(w, bits=b, symmetric=True, axis=0))) for b in SQNR_BITS}
    slope = (sqnr[SQNR_BITS[-1]] - sqnr[SQNR_BITS[0]]) / (SQNR_BITS[-1] - SQNR_BITS[0])
    result.metric("quantizer/sqnr_db_per_bit", slope, "dB")
    result.check("SQNR gain per extra bit (per-channel weights, 6 -> 8 bits)", slope, reference=6.02, tolerance=0.5,
                 source="uniform quantization noise: SQNR grows by 20·log10(2) ≈ 6.02 dB per bit (Widrow & Kollár 2008)")
    variants = {
        "weights_per_tensor": sqnr_db(w, fake_quantize(w, calibrate(w, 8, True))),
        "weights_per_channel": sqnr_db(w, fake_quantize(w, calibrate(w, 8, True, axis=0))),
        "activations_symmetric": sqnr_db(acts, fake_quantize(acts, calibrate(acts, 8, True))),
        "activations_asymmetric": sqnr_db(acts, fake_quantize(acts, calibrate(acts, 8, False, signed=False))),
    }
    for name, v in variants.items():
        result.metric(f"quantizer/int8_sqnr_db/{name}", v, "dB")
    gain = result.metric("quantizer/asymmetric_gain_on_relu_outputs_db", variants["activations_asymmetric"] - variants["activations_symmetric"], "dB")
    result.check("asymmetric int8 beats symmetric on post-ReLU activations (SQNR gain)", gain, reference=3.0, tolerance=0.0,
                 source="all values ≥ 0: symmetric wastes the negative half of the grid, about one bit ≈ 6 dB (Krishnamoorthi 2018, §2)",
                 kind="at_least", unit="dB")

    folded = fold_batchnorm(cnn)
    head = nn.Sequential(folded[-3], nn.ReLU(), folded[-1])  # the CNN's two Linear layers (BatchNorm folded in)
    features = folded[:-3](split.x_test[:HEAD_IMAGES]).detach()
    ours = nn.Sequential(Int8DynamicLinear(head[0]), nn.ReLU(), Int8DynamicLinear(head[2]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.ao.quantization.quantize_dynamic(head, {nn.Linear}, dtype=torch.qint8)
        diff = float((ours(features) - ref(features)).abs().max())
    err = float((head(features) - ref(features)).abs().max())
    result.metric("dynamic_int8/ours_vs_torch_ao_max_abs_diff", diff)
    result.metric("dynamic_int8/int8_vs_fp32_max_abs_diff", err)
    result.check("our dynamic int8 Linear stack vs torch.ao quantize_dynamic (x86/fbgemm), max |diff| of logits",
                 diff, reference=0.0, tolerance=1e-4, source=TORCH_AO, kind="at_most", note=f"for scale: int8 vs fp32 differ by {err:.3g}")


# -- 2. the CNN: int8 PTQ and binary weights -----------------------------------------------------------
def _cnn_int8_and_binary(result: LabResult, cnn, split: wb.Split, cfg: Config, out: Path) -> None:
    x, y = split.x_test, split.y_test
    calib = split.x_train[:cfg.n_calibration]
    acc = {"fp32": wb.accuracy(cnn, x, y)}
    q_minmax = static_quantize(cnn, calib, "minmax")
    acc["int8 PTQ min-max (ours)"] = wb.accuracy(q_minmax, x, y)
    acc["int8 PTQ percentile (ours)"] = wb.accuracy(static_quantize(cnn, calib, "percentile", cfg.calib_percentile), x, y)
    ao = torch_ao_static_quantize(cnn, calib, split.x_train[:AO_EXAMPLE_IMAGES])
    acc["int8 PTQ torch.ao (fbgemm)"] = wb.accuracy(ao, x, y)
    torch.manual_seed(cfg.seed)
    binary = wb.train(wb.small_cnn(*cfg.cnn, binary=True), split, cfg.n_epochs, cfg.seed, lr=cfg.lr,
                      callbacks=[wb.ClipBinary()], description="binary CNN")
    acc["binary weights (BinaryConnect+XNOR)"] = wb.accuracy(binary, x, y)
    agree = float((wb.logits(q_minmax, x).argmax(-1) == wb.logits(ao, x).argmax(-1)).float().mean())
    sizes = {"fp32": wb.fp32_bytes(cnn), "int8": int8_bytes(q_minmax), "binary": binary_weight_bytes(binary)}
    with tempfile.TemporaryDirectory() as tmp:
        files = {"fp32": saved_bytes(cnn.state_dict(), Path(tmp) / "fp32.safetensors"),
                 "int8": saved_bytes(deployable_tensors(q_minmax), Path(tmp) / "int8.safetensors")}
    keys = {"fp32": "fp32", "int8 PTQ min-max (ours)": "int8_minmax", "int8 PTQ percentile (ours)": "int8_percentile",
            "int8 PTQ torch.ao (fbgemm)": "int8_torch_ao", "binary weights (BinaryConnect+XNOR)": "binary"}
    for name, a in acc.items():
        result.metric(f"cnn/accuracy/{keys[name]}", a)
    for name, b in sizes.items():
        result.metric(f"cnn/bytes/{name}", b, "B")
    for name, b in files.items():
        result.metric(f"cnn/file_bytes/{name}", b, "B")
    result.metric("cnn/int8_ours_vs_torch_ao_prediction_agreement", agree)
    drop = acc["fp32"] - acc["int8 PTQ min-max (ours)"]
    result.check("static int8 PTQ (ours, min-max) accuracy vs fp32", acc["int8 PTQ min-max (ours)"], reference=acc["fp32"], tolerance=0.01,
                 source=TUTORIAL + ": int8 costs almost no accuracy", kind="at_least", note=f"drop {drop:+.4f}")
    result.check("static int8 PTQ (torch.ao) accuracy vs fp32", acc["int8 PTQ torch.ao (fbgemm)"], reference=acc["fp32"], tolerance=0.01,
                 source=TUTORIAL, kind="at_least")
    result.check("int8 CNN size / fp32 size, both measured as safetensors files on disk", files["int8"] / files["fp32"],
                 reference=0.25, tolerance=0.01, source="1 byte instead of 4 per weight (arithmetic), plus per-channel "
                 "scales and the safetensors headers",
                 note=f"counted without writing: {sizes['int8'] / sizes['fp32']:.4f}")
    result.check("binary-weight CNN accuracy vs fp32", acc["binary weights (BinaryConnect+XNOR)"], reference=acc["fp32"], tolerance=0.05,
                 source="Courbariaux et al. 2015 (BinaryConnect), abstract: near state-of-the-art with binary weights on "
                 "permutation-invariant MNIST", kind="at_least")
    result.note(f"Binary CNN: {acc['binary weights (BinaryConnect+XNOR)']:.3f} vs fp32 {acc['fp32']:.3f}, at "
                f"{sizes['fp32'] / sizes['binary']:.1f}x smaller (first and last layers stay fp32; BatchNorm after "
                "the binary layers).")
    fig, ax = plots.figure(size=(8, 3.6))
    names = list(acc)
    ax.barh(names, [acc[n] for n in names], color=["grey", "C0", "C0", "C1", "C2"])
    ax.set(xlim=(min(acc.values()) - 0.05, max(acc.values()) + 0.02), xlabel="test accuracy",
           title=f"Fashion-MNIST CNN: fp32 {sizes['fp32'] / 1e3:.0f} kB, int8 {sizes['int8'] / 1e3:.0f} kB, "
                 f"binary {sizes['binary'] / 1e3:.0f} kB")
    ax.invert_yaxis()
    result.artifact(plots.save(fig, out / "cnn_accuracy.png"))


# -- 5. mixed precision ------------------------------------------------------------------------------
def _mixed_precision(result: LabResult, split: wb.Split, cfg: Config, fp32: nn.Module, out: Path) -> None:
    measured = {name: float_extremes(dtype) for name, (dtype, _, _) in FORMATS.items()}
    worst = max(worst_relative_error(measured[name], ieee754_extremes(w, p)) for name, (_, w, p) in FORMATS.items())
    result.check("fp16 and bf16 largest finite, smallest normal and smallest subnormal values, measured by casting all "
                 "65,536 bit patterns, vs the formulas of the format (relative error)", worst, reference=0.0, tolerance=0.0,
                 source="IEEE 754-2008 §3.3: binary16 (w = 5, p = 11) has max 65504, smallest normal 2^-14, smallest "
                 "subnormal 2^-24; bfloat16 (w = 8, p = 8) by the same rule", kind="at_most")
    result.metric("precision/fp16_underflows_below", measured["fp16"]["min_subnormal"])
    result.metric("precision/bf16_max", measured["bf16"]["max"])

    torch.manual_seed(cfg.seed)  # the same initial weights and batches as the fp32 CNN
    bf = wb.train(wb.small_cnn(*cfg.cnn), split, cfg.n_epochs, cfg.seed, lr=cfg.lr, loss_fn=autocast_cross_entropy, description="bf16 CNN")
    acc32, acc16 = wb.accuracy(fp32, split.x_test, split.y_test), wb.accuracy(bf, split.x_test, split.y_test)
    result.metric("precision/fp32_training_accuracy", acc32)
    result.metric("precision/bf16_autocast_training_accuracy", acc16)
    batch = (split.x_train[:STEP_IMAGES], split.y_train[:STEP_IMAGES])
    probe_model = wb.small_cnn(*cfg.cnn).train()

    def step(loss_fn):
        def go():
            probe_model.zero_grad(set_to_none=True)
            loss_fn(probe_model, batch).backward()
        return go
    t32, t16, ratio = time_ratio(step(lambda m, b: F.cross_entropy(m(b[0]), b[1])), step(autocast_cross_entropy), repeats=STEP_REPEATS)
    result.metric("precision/fp32_train_step_ms", t32 * 1e3, "ms", volatile=True)
    result.metric("precision/bf16_train_step_ms", t16 * 1e3, "ms", volatile=True)
    result.metric("precision/bf16_speedup_over_fp32_train_step", ratio, "x", volatile=True)
    result.check("bf16 autocast training accuracy vs fp32 (same seed and data)", acc16, reference=acc32, tolerance=0.02,
                 source="Kalamkar et al. 2019, 'A Study of BFLOAT16 for Deep Learning Training': bf16 matches fp32 "
                 "without hyper-parameter changes or loss scaling")

    # fp16 gradient underflow: an MLP whose loss is multiplied by 2^-20 (tiny gradients, as in deep nets)
    small = wb.Split(split.x_train[:cfg.fp16_train], split.y_train[:cfg.fp16_train], split.x_test, split.y_test)
    probe = wb.lenet_300_100(FP16_MLP)
    F.cross_entropy(probe(small.x_train[:FP16_PROBE_IMAGES]), small.y_train[:FP16_PROBE_IMAGES]).mul(LOSS_MULTIPLIER).backward()
    grads = torch.cat([p.grad.reshape(-1) for p in probe.parameters()])
    lost = {s: fraction_lost_in_fp16(grads, s) for s in LOSS_SCALES}
    for s, v in lost.items():
        result.metric(f"precision/fp16_gradients_lost_at_scale_2^{int(np.log2(s))}", v)
    runs = {}
    for name, scaler, dtype in (("fp32", None, torch.float32), ("fp16", None, torch.float16),
                                ("fp16 + loss scaling", dynamic_loss_scaler(), torch.float16)):
        runs[name] = underflow_demo_run(small, cfg.seed, cfg.fp16_epochs, cfg.fp16_lr, scaler, dtype, f"{name} MLP")
        stats = runs[name][1]
        key = name.replace(" + ", "_").replace(" ", "_")
        result.metric(f"precision/underflow_demo_accuracy/{key}", runs[name][0])
        result.metric(f"precision/underflow_demo_zero_gradient_fraction/{key}", stats["zero_grad_fraction"])
    result.metric("precision/underflow_demo_final_loss_scale", runs["fp16 + loss scaling"][1]["final_scale"])
    # + i: each pair of runs its own initialisation and batch order; pair 0 is the runs above
    seeds = [cfg.seed + i for i in range(cfg.fp16_pairs)]
    scaled, plain = loss_scaling_pairs(small, seeds[1:], cfg.fp16_epochs, cfg.fp16_lr)
    scaled, plain = [runs["fp16 + loss scaling"][0], *scaled], [runs["fp32"][0], *plain]
    gap = result.metric("precision/underflow_demo_mean_gap_loss_scaling_minus_fp32", float(np.mean(scaled) - np.mean(plain)))
    result.metric("precision/underflow_demo_pairs", len(seeds))
    result.check("fp16 without loss scaling loses most tiny gradients (fraction flushed to 0)", lost[1.0], reference=0.5, tolerance=0.0,
                 source="Micikevicius et al. 2018 §3.2: gradients below 2^-24 become zero in fp16", kind="at_least")
    result.check(f"fp16 + dynamic loss scaling trains as well as fp32 (accuracy minus fp32's, mean over {len(seeds)} paired "
                 "runs: same initialisation and batches)", gap, reference=0.0, tolerance=LOSS_SCALING_MARGIN,
                 source="Micikevicius et al. 2018: loss scaling matches fp32 accuracy", kind="at_least",
                 note="per pair: " + ", ".join(f"{a:.3f} vs {b:.3f}" for a, b in zip(scaled, plain)))
    result.check("fp16 without loss scaling falls short of fp32 (accuracy gap)", runs["fp32"][0] - runs["fp16"][0], reference=0.05, tolerance=0.0,
                 source="Micikevicius et al. 2018 §3.2 (underflowed gradients do not update the weights)", kind="at_least")
    fig, ax = plots.figure(size=(7, 3.6))
    mags = grads[grads != 0].abs().log2().numpy()
    ax.hist(mags, bins=80, color="C0")
    for v, label in ((-24, "fp16 smallest subnormal 2^-24"), (-14, "fp16 smallest normal 2^-14")):
        ax.axvline(v, color="C3", ls="--")
        ax.text(v + 0.3, ax.get_ylim()[1] * 0.85, label, color="C3", fontsize=8)
    ax.set(xlabel="log2 |gradient| (loss × 2^-20)", ylabel="count",
           title=f"fp16 loses {lost[1.0]:.0%} of these gradients; ×2^16 loss scaling: {lost[LOSS_SCALES[-1]]:.1%}")
    result.artifact(plots.save(fig, out / "fp16_gradient_underflow.png"))




def dynamic_loss_scaler() -> DynamicLossScaler:
    return DynamicLossScaler(INITIAL_LOSS_SCALE, growth_interval=SCALE_GROWTH_INTERVAL)


def underflow_demo_run(small: wb.Split, seed: int, epochs: int, lr: float, scaler: DynamicLossScaler | None,
                       dtype: torch.dtype, label: str = "MLP") -> tuple[float, dict]:
    """One training of the underflow demo's MLP (loss × 2^-20) from seed's initialisation and batch order:
    its test accuracy and train_fp16's statistics."""
    torch.manual_seed(seed)
    model = wb.lenet_300_100(FP16_MLP)
    batches = [b for _ in range(epochs) for b in wb.loader(small.x_train, small.y_train, FP16_BATCH, seed)]
    stats = train_fp16(model, progress.track(batches, label), lr=lr, loss_multiplier=LOSS_MULTIPLIER, scaler=scaler, dtype=dtype)
    return wb.accuracy(stats["model"], small.x_test, small.y_test), stats


def loss_scaling_pairs(small: wb.Split, seeds: list[int], epochs: int, lr: float,
                       make_scaler=dynamic_loss_scaler) -> tuple[list[float], list[float]]:
    """Test accuracies of fp16 + loss scaling and of fp32, one pair per seed (same initialisation and batches)."""
    scaled = [underflow_demo_run(small, s, epochs, lr, make_scaler(), torch.float16, "fp16 + loss scaling MLP")[0] for s in seeds]
    plain = [underflow_demo_run(small, s, epochs, lr, None, torch.float32, "fp32 MLP")[0] for s in seeds]
    return scaled, plain


# -- 3 and 4. SmolLM2-135M ---------------------------------------------------------------------------
def _smollm2(result: LabResult, cfg: Config, out: Path) -> None:
    from modelbook.data import shakespeare_heldout
    from modelbook.models import load_smollm2

    with progress.status("loading SmolLM2-135M"):
        model, tokenizer = load_smollm2()
    ids = tokenizer(shakespeare_heldout(HELDOUT_CHARS), return_tensors="pt")["input_ids"]  # (1, 12416)
    scored, scan = ids[:, :cfg.ppl_tokens], ids[:, cfg.ppl_tokens:cfg.ppl_tokens + cfg.scan_tokens]
    result.metric("smollm2/heldout_tokens_available", ids.shape[1])
    result.metric("smollm2/ppl_tokens", scored.shape[1])
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]  # 210 decoder Linears + lm_head
    bench = PlanBench(model, names, cfg.group_size)
    prompt = ids[:, -DECODE_PROMPT_TOKENS:]

    schemes = {  # name -> (metric key, decoder Linears, output head = tied embedding table)
        "fp32": ("fp32", "fp32", "fp32"),
        "int8": ("int8", "int8", "int8"),
        "int4 g32, int zero": ("int4", "int4", "int8"),
        "int4 g32, symmetric": ("int4_sym", "int4-sym", "int8"),
        "int4 g32, fp16 offset (Q4_1)": ("int4_float", "int4-float", "int8"),
    }
    schemes = {name: v for name, v in schemes.items() if v[0] in cfg.schemes}
    rows, reference = {}, None
    for name, (key, body, head) in progress.track(list(schemes.items()), "SmolLM2 schemes"):
        bench.apply({n: (head if n == "lm_head" else body) for n in names})
        s = score(model, scored, cfg.ppl_window, reference, keep=reference is None)  # fp32 first: the reference
        reference = reference or s["logprobs"]
        tps = decode_tokens_per_s(model, prompt, cfg.decode_tokens, warmup=DECODE_WARMUP) if cfg.decode_tokens else float("nan")
        rows[name] = {"key": key, "bytes": model_bytes(model), "ppl": s["ppl"], "kl": s["kl"], "tps": tps}
    fp32 = rows["fp32"]
    for name, r in rows.items():
        key = r["key"]
        result.metric(f"smollm2/bytes/{key}", r["bytes"], "B")
        result.metric(f"smollm2/perplexity/{key}", r["ppl"])
        result.metric(f"smollm2/ppl_ratio_to_fp32/{key}", r["ppl"] / fp32["ppl"], "x")
        if name != "fp32":
            result.metric(f"smollm2/kl_to_fp32/{key}", r["kl"], "nats/token")
        if cfg.decode_tokens:
            result.metric(f"smollm2/tokens_per_s/{key}", r["tps"], "tok/s", volatile=True)
    int8, int4 = rows["int8"], rows["int4 g32, int zero"]
    result.check("SmolLM2 int8 weight-only perplexity / fp32 (held-out Shakespeare)", int8["ppl"] / fp32["ppl"], reference=1.0, tolerance=0.05,
                 source=TUTORIAL + "; the issue's bar: within 5%", kind="at_most")
    result.check("SmolLM2 int8 size / fp32 size (all Linears + tied embedding, per-channel scales)",
                 int8["bytes"] / fp32["bytes"], reference=0.25, tolerance=0.01, source="1 byte instead of 4 per weight (arithmetic); "
                 "the tutorial's non-embedding part went 350 -> 90 MB (3.9x)")
    result.check("SmolLM2 KL to fp32: int4 / int8 (16x coarser grid, finer groups)", int4["kl"] / int8["kl"], reference=10.0, tolerance=0.0,
                 source="quantization noise power grows 4x per bit removed (Widrow & Kollár 2008), and KL grows with it",
                 kind="at_least")
    result.note(f"SmolLM2 on {scored.shape[1]} held-out tokens: perplexity fp32 {fp32['ppl']:.2f}, "
                + ", ".join(f"{n} {r['ppl']:.2f} (KL to fp32 {r['kl']:.4f})" for n, r in rows.items() if n != "fp32")
                + ". The packaged weights were Q4_1 (groups of 32, fp16 scale and offset), so an int4 grid with an fp16 "
                "offset can land back on them; other int4 grids round twice.")
    if cfg.decode_tokens:
        result.note(f"Decode tokens/s here (eager PyTorch, {torch.get_num_threads()} thread(s)): "
                    + ", ".join(f"{n} {r['tps']:.1f}" for n, r in rows.items()) + ". Our int8/int4 layers dequantize "
                    "every weight matrix at every step, so they are slower than fp32 despite reading 4-8x fewer bytes "
                    "from RAM; benchmarks/decode.py compares fused library kernels and the roofline.")
    if cfg.scan_groups < SMOLLM2_LAYERS or cfg.ppl_tokens < FULL_PPL_TOKENS:
        result.note(f"Quick scale: perplexity and KL on {scored.shape[1]} tokens (a perplexity that short is noisy: "
                    f"KL is the steadier measure), sensitivity on {scan.shape[1]} tokens in {cfg.scan_groups} blocks of "
                    "layers, no decode timing; the full preset uses 4,096 and 1,024 tokens and all 30 layers.")
    _mixed_plan(result, bench, names, scan, scored, reference, rows, cfg, out)
    _smollm2_table(rows, out, result)
    bench.apply({n: "fp32" for n in names})


def _mixed_plan(result: LabResult, bench: PlanBench, names: list[str], scan, scored, reference, rows: dict,
                cfg: Config, out: Path) -> None:
    """Sensitivity of each block of layers to int4 (the rest int8), measured as KL to fp32 on the scan tokens;
    then the plan that keeps the most sensitive blocks at int8 under a size budget, judged on the scored tokens."""
    model = bench.model
    n_layers = len(model.model.layers)
    blocks = np.array_split(np.arange(n_layers), cfg.scan_groups)

    def plan_for(int4_blocks: set[int]) -> dict[str, str]:
        return block_plan(names, blocks, int4_blocks)

    sensitivity = block_sensitivity(bench, names, blocks, scan, cfg.ppl_window, track=progress.track)
    size8, size4 = rows["int8"]["bytes"], rows["int4 g32, int zero"]["bytes"]  # = plan_for(no blocks), plan_for(all blocks)
    budget = size4 + cfg.budget_fraction * (size8 - size4)
    n_int8 = int(np.floor(cfg.budget_fraction * len(blocks) + FLOOR_EPS))  # blocks are equal in size
    plans = {"sensitivity-guided": int4_blocks_for(sensitivity, n_int8, "most"),
             "least sensitive kept int8 (same size)": int4_blocks_for(sensitivity, n_int8, "least")}
    if len(blocks) >= EVEN_PLAN_MIN_BLOCKS:
        plans["evenly spaced (same size)"] = int4_blocks_for(sensitivity, n_int8, "even")
    evaluated = {}
    for label, blocks4 in progress.track(list(plans.items()), "mixed plans"):
        bench.apply(plan_for(blocks4))
        s = score(model, scored, cfg.ppl_window, reference)
        evaluated[label] = {"bytes": model_bytes(model), "ppl": s["ppl"], "kl": s["kl"]}
    evaluated["all int4"] = {k: rows["int4 g32, int zero"][k] for k in ("bytes", "ppl", "kl")}
    evaluated["all int8"] = {k: rows["int8"][k] for k in ("bytes", "ppl", "kl")}
    for b, s in enumerate(sensitivity):
        result.metric(f"mixed/sensitivity_kl/block_{b:02d}", s, "nats/token")
    result.metric("mixed/budget_bytes", budget, "B")
    result.metric("mixed/int8_blocks_in_plan", n_int8)
    for label, r in evaluated.items():
        key = label.split(" (")[0].replace(" ", "_").replace("-", "_")
        result.metric(f"mixed/bytes/{key}", r["bytes"], "B")
        result.metric(f"mixed/perplexity/{key}", r["ppl"])
        result.metric(f"mixed/kl_to_fp32/{key}", r["kl"], "nats/token")
    guided, other = evaluated["sensitivity-guided"], evaluated["least sensitive kept int8 (same size)"]
    a4, a8 = evaluated["all int4"], evaluated["all int8"]
    recovered = result.metric("mixed/kl_recovered_by_guided_plan", (a4["kl"] - guided["kl"]) / (a4["kl"] - a8["kl"]))
    fill = result.metric("mixed/guided_bytes_over_budget", guided["bytes"] / budget)
    result.note(f"The guided plan takes {fill:.3f} of its size budget (int4 size + {cfg.budget_fraction:.0%} of the "
                f"int8 extra): {n_int8} of {len(blocks)} equal blocks at int8, sized to fit by construction.")
    result.check("sensitivity-guided plan vs the same-size plan keeping the least sensitive layers int8 (KL to fp32)",
                 guided["kl"], reference=other["kl"], tolerance=0.0,
                 source="HAWQ (Dong et al. 2019) / mixed-precision practice: spend bits where the measured sensitivity is highest",
                 kind="at_most")
    result.check("share of int4's KL the guided plan removes vs the share of int8's extra bytes it spends", recovered,
                 reference=cfg.budget_fraction, tolerance=0.0, source="HAWQ (Dong et al. 2019): layers differ in sensitivity, so bits placed by "
                 "sensitivity buy more than their share", kind="at_least")
    result.note("Mixed int4/int8 plans (perplexity, KL to fp32, MB): " + "; ".join(
        f"{label} {r['ppl']:.2f}, {r['kl']:.4f}, {r['bytes'] / 1e6:.1f}" for label, r in evaluated.items()))
    fig, ax = plots.figure(size=(9, 3.6))
    colors = ["C1" if b not in plans["sensitivity-guided"] else "C0" for b in range(len(blocks))]
    ax.bar(range(len(blocks)), sensitivity, color=colors)
    ax.set_xticks(range(len(blocks)), [f"{blk[0]}-{blk[-1]}" if len(blk) > 1 else str(blk[0]) for blk in blocks],
                  rotation=90 if len(blocks) > 10 else 0, fontsize=7)
    ax.set(xlabel="decoder layers at int4 (the rest int8)", ylabel="KL to fp32 (nats/token)",
           title=f"Sensitivity scan; orange = kept int8 under the budget (plan KL {guided['kl']:.3f} vs {other['kl']:.3f})")
    result.artifact(plots.save(fig, out / "smollm2_sensitivity.png"))


def _smollm2_table(rows: dict, out: Path, result: LabResult) -> None:
    """The size / perplexity / KL / speed table of SmolLM2 as a PNG."""
    fp32 = rows["fp32"]
    cells = [[name, f"{r['bytes'] / 1e6:.0f} MB", f"{fp32['bytes'] / r['bytes']:.1f}x", f"{r['ppl']:.2f}",
              f"{r['ppl'] / fp32['ppl']:.3f}", "-" if name == "fp32" else f"{r['kl']:.4f}",
              f"{r['tps']:.1f}" if r["tps"] == r["tps"] else "-"] for name, r in rows.items()]
    fig, ax = plots.figure(size=(10, 0.5 + 0.4 * len(cells)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=["SmolLM2-135M", "size", "smaller", "perplexity", "ppl / fp32",
                                                "KL to fp32", "tokens/s"], loc="center", cellLoc="center")
    table.scale(1, 1.3)
    result.artifact(plots.save(fig, out / "smollm2_table.png"))
