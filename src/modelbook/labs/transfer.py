"""Transfer: linear probe vs fine-tuning vs from scratch, LoRA and QLoRA from scratch, zero-shot, negative transfer (topic 24).

What this lab shows
  1. Label efficiency, text: all-MiniLM-L6-v2 on an English topic task (WordNet noun glosses labelled animal,
     artifact, food or person). A linear probe on the frozen sentence features, full fine-tuning, LoRA and the
     same encoder trained from random weights, at 10, 100 and "all" labels per class (all = 239, the food class's
     whole share of WordNet's training part; full preset). With 10 labels per class the pretrained encoder is far
     above chance and the one trained from scratch is not: pre-training is what makes few labels enough.
  2. LoRA from scratch (modelbook.nn.lora) on MiniLM, rank 8 on all six linear layers of each block: the merged
     weights W₀ + (α/r)·BA give the adapter path's outputs; trainable share and training memory (weights,
     gradients, Adam state, measured on the live tensors) against full fine-tuning; accuracy against full
     fine-tuning at equal steps. QLoRA: the same adapters over our frozen int4 base (compression.qlinear),
     its weight bytes checked against the int4 format's bits per weight. tests/nn/test_lora.py holds our layer
     equal to peft 0.22's on the same weights and inputs (to 1e-6).
  3. Zero-shot transfer to classes never trained on (plant, body part, place, time, substance): the gloss goes to
     the class whose name MiniLM embeds nearest. No labels at all, well above chance.
  4. Negative transfer: a source head (fit on other labelled glosses) used as an L2-SP prior for a 10-label target.
     When the source's classes mean what the target's mean, it helps; when the source labels disagree with the
     target (its classes shifted by one), the same prior makes the target worse than no transfer. Paired over
     repeated target draws, with 95% intervals.
  5. Full preset: EfficientNet-Lite0 (ImageNet) on Fashion-MNIST at 32 px: probe vs full fine-tune (BatchNorm
     statistics frozen) vs the same network from scratch at 10, 100 and 300 labels per class, as label-efficiency
     curves. Fine-tuning beats scratch at 10 labels (checked); with equal, small step budgets the converged probe
     leads at the larger sizes (reported in a note).

Differences from the references
  - CPU scale: fine-tuning runs a fixed, small number of AdamW steps (equal across methods), on glosses cut to
    16 tokens; papers train for epochs. The quick preset fine-tunes at 10 labels per class only and skips the
    image curves and QLoRA training (its merge and memory are still measured).
  - Full fine-tuning and LoRA start their head from the probe's solution (LP-FT, Kumar et al. 2022), so every
    pretrained method starts where the probe ended; the from-scratch network starts from a zero head.
  - "All labels" is the largest per-class count that the smallest class (text) or the 10-minute budget (images)
    allows, not the whole dataset.

Building blocks: modelbook/nn/lora.py, modelbook/transfer/{data,finetune,zeroshot}.py
Cross-checks:    tests/nn/test_lora.py (merge, QLoRA, peft), tests/transfer/, tests/labs/test_transfer.py
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult

SEEN = ("noun.animal", "noun.artifact", "noun.food", "noun.person")
UNSEEN = {"noun.plant": "plant", "noun.body": "body part", "noun.location": "place", "noun.time": "time",
          "noun.substance": "substance"}
LORA_TARGETS = ("query", "key", "value", "out", "ffn_in", "ffn_out")
MERGE_ROWS = 32  # test glosses the merged and adapter logits are compared on
ALL_TEXT = 239  # noun.food has 239 glosses in WordNet's fixed training part: the most every seen class can give

HU_LORA = "Hu et al. 2021, LoRA (arXiv:2106.09685) §4.1: W = W₀ + BA can be merged, no added inference latency"
HU_MEMORY = "Hu et al. 2021, LoRA §4.2: training VRAM 1.2 TB -> 350 GB on GPT-3 ('reduce by up to 2/3')"
HU_QUALITY = "Hu et al. 2021, LoRA Table 2: RoBERTa-base LoRA 87.2 vs full fine-tuning 86.4 (GLUE average)"
QLORA = "Dettmers et al. 2023, QLoRA (arXiv:2305.14314): 4-bit base + 16-bit adapters matches 16-bit fine-tuning"
INT4_BITS = "int4, asymmetric groups of g: 4 + 24/g bits per weight (4-bit codes, fp16 scale, uint8 zero; compression/qlinear.py)"
PRETRAIN = ("Hendrycks, Lee & Mazeika 2019 (pre-training helps most with few labels); chance accuracy = 1/K exactly "
            "for the from-scratch reference")
ZERO_SHOT = "Socher et al. 2013 / Radford et al. 2021 (CLIP): zero-shot through label-name embeddings; chance = 1/K"
NEG = ("Wang et al. 2019, Characterizing and Avoiding Negative Transfer (CVPR): conflicting source labels hurt; "
       "Li et al. 2018, L2-SP")


@dataclass(frozen=True)
class Config:
    text_probe_levels: tuple[int, ...] = (10, 100)
    """labels per class for the probe curve"""
    text_ft_levels: tuple[int, ...] = (10,)
    """labels per class for fine-tuning (full, LoRA, scratch; QLoRA too when qlora_train)"""
    text_test: int = 30
    """test glosses per class"""
    max_tokens: int = 16
    """glosses are cut to this many tokens"""
    ft_steps: int = 8
    """AdamW steps per fine-tuning run (at least; more labels get up to ft_epochs epochs, capped at ft_max_steps)"""
    ft_epochs: int = 2
    ft_max_steps: int = 8
    batch_size: int = 10
    lr_full: float = 5e-5
    lr_lora: float = 1e-3
    lr_head: float = 1e-3
    lr_scratch: float = 1e-3
    lora_r: int = 8
    lora_alpha: float = 16.0
    qlora_train: bool = False
    """train QLoRA too (otherwise its merge and memory are measured on two steps)"""
    zero_shot_test: int = 20
    """test glosses per unseen class"""
    source_per_class: int = 50
    """labelled glosses per class behind the negative-transfer source head"""
    target_per_class: int = 5
    neg_draws: int = 20
    """target draws for the paired negative-transfer comparison"""
    l2sp: float = 1.0
    """L2-SP strength toward the source head (the no-transfer probe uses probe_l2 toward 0)"""
    probe_l2: float = 0.01
    image_levels: tuple[int, ...] = ()
    """labels per class for the EfficientNet curves (empty: skipped)"""
    image_test: int = 100
    image_size: int = 32
    image_steps: int = 40
    image_batch: int = 50
    lr_image_ft: float = 1e-4
    lr_image_scratch: float = 3e-3
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run()"""


PRESETS = {
    "quick": Config(text_probe_levels=(10, 50), text_test=25, max_tokens=12, ft_steps=6, ft_max_steps=6, batch_size=8,
                    zero_shot_test=16, source_per_class=30, neg_draws=10),
    "full": Config(text_probe_levels=(10, 100, ALL_TEXT), text_ft_levels=(10, 100, ALL_TEXT), text_test=60,
                   ft_epochs=2, ft_max_steps=24, batch_size=16, qlora_train=True, zero_shot_test=60,
                   source_per_class=100, neg_draws=20, image_levels=(10, 100, 300), image_test=60, image_steps=24,
                   image_batch=32),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("transfer", cfg)
    rng = np.random.default_rng(cfg.seed)
    curves: dict = {}
    text = _text(result, cfg, rng, curves)
    _zero_shot(result, cfg, text)
    _negative_transfer(result, cfg, rng, text)
    if cfg.image_levels:
        _image(result, cfg, rng, curves)
    _plot(result, curves, out)
    return result


# -- 1 + 2. text: probe, full fine-tune, LoRA, QLoRA, scratch ---------------------------------------------
def _text(result: LabResult, cfg: Config, rng, curves) -> dict:
    import torch

    from modelbook.models.loaders import load_minilm_bert
    from modelbook.nn.bert import tokenize
    from modelbook.transfer.data import gloss_task
    from modelbook.transfer.finetune import TextClassifier, features
    from modelbook.vision.features import linear_probe

    with progress.status("loading all-MiniLM-L6-v2 and WordNet glosses"):
        encoder, tok = load_minilm_bert()
        top = max(max(cfg.text_probe_levels), max(cfg.text_ft_levels), cfg.source_per_class + cfg.target_per_class)
        tr, ytr, te, yte, _ = gloss_task(SEEN, top, cfg.text_test, rng)
    k = len(SEEN)
    x_tr, x_te = tokenize(tok, tr, cfg.max_tokens), tokenize(tok, te, cfg.max_tokens)
    y_tr, y_te = torch.from_numpy(ytr), torch.from_numpy(yte)
    frozen = TextClassifier(encoder, k)
    with progress.status(f"MiniLM features of {len(tr) + len(te)} glosses"):
        f_tr, f_te = features(frozen, x_tr), features(frozen, x_te)
    order = np.argsort(np.tile(np.arange(top), k), kind="stable")  # row j: j-th example of every class, so [:n·k] = n per class
    by_rank = torch.from_numpy(order)

    def first(n):  # indices of the first n examples of each class
        return by_rank[: n * k]

    probes = {}
    for n in cfg.text_probe_levels:
        idx = first(n)
        probes[n] = linear_probe(f_tr[idx], y_tr[idx], k, l2=cfg.probe_l2)
        acc = result.metric(f"text/probe/{n}/accuracy", float((probes[n](f_te) == y_te).float().mean()))
        curves.setdefault(("text", "linear probe"), []).append((n, acc))
    accs: dict = {}
    for n in cfg.text_ft_levels:
        idx = first(n)
        if n not in probes:
            probes[n] = linear_probe(f_tr[idx], y_tr[idx], k, l2=cfg.probe_l2)
        steps = min(max(cfg.ft_steps, math.ceil(cfg.ft_epochs * n * k / cfg.batch_size)), max(cfg.ft_max_steps, cfg.ft_steps))
        methods = ["full fine-tune", "LoRA", "scratch"] + (["QLoRA"] if cfg.qlora_train else [])
        for method in progress.track(methods, f"fine-tuning MiniLM at {n} labels per class ({steps} steps)"):
            model, acc, mem, counts = _finetune(cfg, method, encoder, f_tr[idx], probes[n], (x_tr[0][idx], x_tr[1][idx]),
                                                y_tr[idx], x_te, y_te, steps, k)
            accs[(method, n)] = acc
            slug = method.lower().replace(" ", "_").replace("-", "_")
            result.metric(f"text/{slug}/{n}/accuracy", acc)
            curves.setdefault(("text", method), []).append((n, acc))
            if n == cfg.text_ft_levels[0] and method in ("full fine-tune", "LoRA"):
                result.metric(f"lora/{slug}/training_bytes", mem["total"], "B")
                if method == "LoRA":
                    result.metric("lora/trainable_parameters", counts[0])
                    result.metric("lora/trainable_share", counts[0] / counts[1])
                    _merge_check(result, "LoRA", model, x_te)
        result.metric(f"text/steps/{n}", steps)
    n0 = cfg.text_ft_levels[0]
    ratio = result.metric("lora/training_bytes_ratio", result.value("lora/lora/training_bytes") / result.value("lora/full_fine_tune/training_bytes"))
    result.check("LoRA's training memory (weights + gradients + Adam state, measured) over full fine-tuning's", ratio,
                 reference=1 / 3, tolerance=0.0, kind="at_most", source=HU_MEMORY,
                 note="activations are not counted; the frozen 11.7M-parameter embedding table is most of what LoRA keeps")
    gap = result.metric(f"lora/minus_full/{n0}", accs[("LoRA", n0)] - accs[("full fine-tune", n0)])
    result.check(f"LoRA's accuracy at equal steps is not below full fine-tuning's by more than 0.1 ({n0} labels/class)",
                 gap, reference=0.0, tolerance=0.1, kind="at_least", source=HU_QUALITY)
    pretrained = min(float((probes[n0](f_te) == y_te).float().mean()), accs[("full fine-tune", n0)], accs[("LoRA", n0)])
    lift = result.metric(f"text/pretrained_minus_scratch/{n0}", pretrained - accs[("scratch", n0)])
    result.check(f"with {n0} labels per class, every pretrained method (probe, full fine-tune, LoRA) beats the same "
                 f"encoder trained from scratch by ≥ 0.3 (scratch ≈ chance {1 / k:.2f})", lift, reference=0.3,
                 tolerance=0.0, kind="at_least", source=PRETRAIN)
    result.metric("text/scratch_minus_chance", accs[("scratch", n0)] - 1 / k)
    _qlora(result, cfg, encoder, f_tr[first(n0)], probes[n0], (x_tr[0][first(n0)], x_tr[1][first(n0)]), y_tr[first(n0)],
           x_te, y_te, accs, k)
    return {"encoder": encoder, "tok": tok, "f_tr": f_tr, "y_tr": y_tr, "first": first, "f_te": f_te, "y_te": y_te,
            "probes": probes}


def _finetune(cfg: Config, method: str, encoder, f_train, probe, x, y, x_te, y_te, steps: int, k: int, evaluate: bool = True):
    import torch

    from modelbook.nn.lora import count_parameters, training_state_bytes
    from modelbook.transfer.finetune import build_text_model, predict, train_steps

    torch.manual_seed(cfg.seed + 11)
    model, groups = build_text_model(method, encoder, k, f_train=f_train, probe_weights=probe.weights,
                                     lora_targets=LORA_TARGETS, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                     lr_scratch=cfg.lr_scratch, lr_full=cfg.lr_full, lr_lora=cfg.lr_lora,
                                     lr_head=cfg.lr_head)
    gen = torch.Generator().manual_seed(cfg.seed + 7)  # same minibatch order for every method
    train_steps(model, x, y, steps, cfg.batch_size, groups, gen)
    acc = float((predict(model, x_te) == y_te).float().mean()) if evaluate else math.nan
    return model, acc, training_state_bytes(model, model.last_optimizer[0]), count_parameters(model)


def _merge_check(result: LabResult, what: str, model, x_te) -> None:
    import torch

    from modelbook.nn.lora import merge_lora

    x = tuple(t[:MERGE_ROWS] for t in x_te)
    with torch.no_grad():
        adapter = model(*x)
        merged = copy.deepcopy(model)
        merge_lora(merged.encoder)
        diff = float((merged(*x) - adapter).abs().max())
    slug = what.lower()
    result.metric(f"{slug}/merged_max_abs_diff", diff)
    result.metric(f"{slug}/logit_scale", float(adapter.abs().max()))
    result.check(f"{what}: the merged weights W₀ + (α/r)·BA give the adapter path's logits on the test glosses "
                 f"(max |Δ| over {MERGE_ROWS} glosses, fp32)", diff, reference=0.0, tolerance=1e-4, kind="at_most",
                 source=HU_LORA if what == "LoRA" else QLORA + "; merge = dequant(W₀) + (α/r)·BA in fp32")


def _qlora(result: LabResult, cfg: Config, encoder, f_train, probe, x, y, x_te, y_te, accs, k) -> None:
    from modelbook.compression.qlinear import Int4GroupLinear

    n0 = cfg.text_ft_levels[0]
    if cfg.qlora_train:
        steps = int(result.value(f"text/steps/{n0}"))
    else:
        steps = 2
    model, acc, mem, counts = _finetune(cfg, "QLoRA", encoder, f_train, probe, x, y, x_te, y_te, steps, k,
                                        evaluate=cfg.qlora_train)
    _merge_check(result, "QLoRA", model, x_te)
    result.metric("qlora/training_bytes", mem["total"], "B")
    if cfg.qlora_train:
        gap = result.metric(f"qlora/minus_lora/{n0}", acc - accs[("LoRA", n0)])
        result.check(f"QLoRA (int4 base) accuracy is within 0.1 of LoRA's at equal steps ({n0} labels/class)", gap,
                     reference=0.0, tolerance=0.1, source=QLORA)
    q = [m for m in model.modules() if isinstance(m, Int4GroupLinear)]
    stored = sum(t.numel() * t.element_size() for m in q for t in m.buffers() if t is not None and t is not m.bias)
    weights = sum(m.in_features * m.out_features for m in q)
    bits = result.metric("qlora/base_bits_per_weight", 8 * stored / weights)
    g = q[0].group_size
    result.check(f"QLoRA base: the int4 layers' stored bytes per weight (codes, scales, zero points) match the format "
                 f"(g = {g})", bits, reference=4 + 24 / g, tolerance=1e-9, source=INT4_BITS)
    result.metric("qlora/weights_bytes_ratio_vs_lora", mem["weights"] / result.value("lora/lora/training_bytes"))


# -- 3. zero-shot ------------------------------------------------------------------------------------------
def _zero_shot(result: LabResult, cfg: Config, text: dict) -> None:
    import torch

    from modelbook.nn.bert import tokenize
    from modelbook.transfer.data import gloss_task
    from modelbook.transfer.finetune import TextClassifier, features
    from modelbook.transfer.zeroshot import zero_shot

    _, _, te, yte, _ = gloss_task(tuple(UNSEEN), 1, cfg.zero_shot_test, np.random.default_rng(0))
    clf = TextClassifier(text["encoder"], len(UNSEEN))
    with progress.status(f"zero-shot: {len(te)} glosses of {len(UNSEEN)} unseen classes"):
        f = features(clf, tokenize(text["tok"], te, cfg.max_tokens))
        names = features(clf, tokenize(text["tok"], list(UNSEEN.values()), cfg.max_tokens))
    pred = zero_shot(f, names)
    acc = result.metric("zero_shot/accuracy", float((pred == torch.from_numpy(yte)).float().mean()))
    chance = 1 / len(UNSEEN)
    result.check(f"zero-shot on {len(UNSEEN)} classes never trained on ({', '.join(UNSEEN.values())}), through MiniLM "
                 f"embeddings of the class names: above chance ({chance:.2f}) by ≥ 0.25", acc - chance,
                 reference=0.25, tolerance=0.0, kind="at_least", source=ZERO_SHOT)
    result.note(f"Zero-shot accuracy {acc:.3f} on unseen classes with no labels; the seen-class classifiers cannot "
                f"name these classes at all.")


# -- 4. negative transfer -------------------------------------------------------------------------------------
def _negative_transfer(result: LabResult, cfg: Config, rng, text: dict) -> None:
    import torch

    from modelbook.transfer.zeroshot import accuracy_of, softmax_regression, standardiser

    k = len(SEEN)
    f_tr, y_tr, f_te, y_te = text["f_tr"], text["y_tr"], text["f_te"], text["y_te"]
    src_idx = text["first"](cfg.source_per_class)
    pool = text["first"](len(f_tr) // k)[len(src_idx):]  # every training gloss not behind the source head
    std = standardiser(f_tr[src_idx])
    xs, xt = std(f_tr), std(f_te)
    agree = softmax_regression(xs[src_idx], y_tr[src_idx], k, cfg.probe_l2)[0]
    disagree = softmax_regression(xs[src_idx], (y_tr[src_idx] + 1) % k, k, cfg.probe_l2)[0]  # source classes shifted
    pool_y = y_tr[pool].numpy()
    diffs = {"agree": [], "disagree": []}
    plain_accs = []
    for _ in progress.track(range(cfg.neg_draws), "negative transfer: L2-SP target draws"):
        idx = torch.from_numpy(np.concatenate([rng.choice(pool.numpy()[pool_y == c], cfg.target_per_class, replace=False)
                                               for c in range(k)]))
        plain = accuracy_of(xt, y_te, softmax_regression(xs[idx], y_tr[idx], k, cfg.probe_l2))
        plain_accs.append(plain)
        for name, prior in (("agree", agree), ("disagree", disagree)):
            acc = accuracy_of(xt, y_te, softmax_regression(xs[idx], y_tr[idx], k, cfg.l2sp, prior=prior))
            diffs[name].append(acc - plain)
    result.metric("negative/no_transfer_accuracy", float(np.mean(plain_accs)))
    for name, d in diffs.items():
        d = np.asarray(d)
        mean, half = float(d.mean()), 1.96 * float(d.std(ddof=1)) / math.sqrt(len(d))
        result.metric(f"negative/{name}_minus_none", mean)
        result.metric(f"negative/{name}_minus_none_ci_low", mean - half)
        result.metric(f"negative/{name}_minus_none_ci_high", mean + half)
    result.check(f"positive transfer: an L2-SP prior from a source that agrees with the target raises {cfg.target_per_class}-label "
                 f"accuracy (lower end of the paired 95% interval over {cfg.neg_draws} draws)",
                 result.value("negative/agree_minus_none_ci_low"), reference=0.0, tolerance=0.0, kind="at_least", source=NEG)
    result.check("negative transfer: the same prior from a source whose labels disagree with the target lowers accuracy "
                 "below no transfer (upper end of the paired 95% interval)",
                 result.value("negative/disagree_minus_none_ci_high"), reference=0.0, tolerance=0.0, kind="at_most", source=NEG)


# -- 5. images (full preset) ----------------------------------------------------------------------------------
def _image(result: LabResult, cfg: Config, rng, curves) -> None:
    import torch

    from modelbook.models.loaders import load_efficientnet_lite0
    from modelbook.transfer.data import fashion_task
    from modelbook.transfer.finetune import (
        ImageClassifier,
        efficientnet_scratch,
        features,
        init_head_from_probe,
        predict,
        train_steps,
    )
    from modelbook.vision.features import linear_probe

    top = max(cfg.image_levels)
    x, y, xt, yt = fashion_task(top, cfg.image_test, rng)
    order = torch.from_numpy(np.argsort(np.tile(np.arange(top), 10), kind="stable"))
    net = load_efficientnet_lite0().to(memory_format=torch.channels_last)
    frozen = ImageClassifier(net, 10, cfg.image_size)
    with progress.status(f"EfficientNet features of {len(x) + len(xt)} images"):
        f, ft = features(frozen, (x,)), features(frozen, (xt,))
    acc = {}
    for n in cfg.image_levels:
        idx = order[: n * 10]
        probe = linear_probe(f[idx], y[idx], 10, l2=cfg.probe_l2)
        acc[("probe", n)] = float((probe(ft) == yt).float().mean())
        for method in progress.track(("fine-tune", "scratch"), f"EfficientNet at {n} labels per class"):
            torch.manual_seed(cfg.seed + 13)
            if method == "fine-tune":
                model = ImageClassifier(copy.deepcopy(net), 10, cfg.image_size, freeze_bn=True)
                init_head_from_probe(model.head, f[idx], probe.weights)
                lr = cfg.lr_image_ft
            else:
                model = ImageClassifier(efficientnet_scratch(), 10, cfg.image_size, bn_momentum=0.3)
                lr = cfg.lr_image_scratch
            gen = torch.Generator().manual_seed(cfg.seed + 17)
            train_steps(model, (x[idx],), y[idx], cfg.image_steps, min(cfg.image_batch, len(idx)),
                        [{"params": list(model.parameters()), "lr": lr}], gen)
            acc[(method, n)] = float((predict(model, (xt,)) == yt).float().mean())
        for method in ("probe", "fine-tune", "scratch"):
            result.metric(f"image/{method}/{n}/accuracy", acc[(method, n)])
            curves.setdefault(("image", {"probe": "linear probe", "fine-tune": "full fine-tune"}.get(method, method)), []).append((n, acc[(method, n)]))
    n0 = cfg.image_levels[0]
    lift = result.metric(f"image/finetune_minus_scratch/{n0}", acc[("fine-tune", n0)] - acc[("scratch", n0)])
    result.check(f"Fashion-MNIST, {n0} labels per class: fine-tuning EfficientNet-Lite0 from its ImageNet weights beats "
                 f"the same network from scratch at equal steps", lift, reference=0.0, tolerance=0.0, kind="at_least",
                 source=PRETRAIN)
    result.note("Fashion-MNIST (probe / fine-tune / scratch): " + "; ".join(
        f"{n} labels per class {acc[('probe', n)]:.3f} / {acc[('fine-tune', n)]:.3f} / {acc[('scratch', n)]:.3f}"
        for n in cfg.image_levels) + f". Fine-tuning (BatchNorm statistics frozen) and scratch get {cfg.image_steps} steps of "
        f"{cfg.image_batch} at every level, under one epoch at the larger ones, while the probe is solved to convergence: "
        f"that budget, not the method, is why the probe leads there on a CPU.")


# -- plots ----------------------------------------------------------------------------------------------------
def _plot(result: LabResult, curves: dict, out: Path) -> None:
    panels = sorted({p for p, _ in curves})
    fig, axes = plots.figure(1, len(panels), size=(5.5 * len(panels), 3.8))
    axes = np.atleast_1d(axes)
    for ax, panel in zip(axes, panels):
        for (p, method), pts in sorted(curves.items()):
            if p == panel:
                n, a = zip(*sorted(pts))
                ax.plot(n, a, marker="o", label=method)
        ax.set_xscale("log")
        ax.set_xlabel("labels per class")
        ax.set_ylabel("test accuracy")
        ax.set_title({"text": "MiniLM, WordNet glosses (4 classes)", "image": "EfficientNet-Lite0, Fashion-MNIST"}[panel])
        ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "label_efficiency.png"))
