"""Scaling laws and pre-training budgets: a ladder of small GPTs, the Chinchilla fit, compute-optimal N and D, μP (topic 44).

What this lab shows
  1. A ladder of character-level GPTs on Shakespeare (at least 5 widths × 4 token budgets), each budget a full
     warmup-stable-decay run (one run per width, cooldowns forked from it). FLOPs of every step are counted
     exactly (modelbook.scaling.ladder.gpt_train_flops, equal to torch.utils.flop_counter on the real model) and
     compared with the 6·N·D rule, which overstates them here: embeddings are a large share of such small models.
  2. L(N, D) = E + A/N^α + B/D^β fitted as Hoffmann et al. 2022 do in Approach 3 (Huber δ = 1e-3 on log L,
     L-BFGS from their grid of starts), with bootstrap intervals over runs. Fitted on the smaller widths and
     shorter budgets only, the law predicts the held-out largest width and longest budget within a stated error.
  3. The compute-optimal N and D per FLOP budget from the fit (closed form, equal to a brute-force search along
     the iso-FLOP line), the exponents a, b of N_opt ∝ C^a, D_opt ∝ C^b and the tokens per parameter at the
     optimum, set beside Chinchilla's ≈ 20 tokens per parameter and the published fits (Hoffmann et al. 2022;
     Besiroglu et al. 2024). At a few thousand parameters and tens of thousands of characters the exponents are
     not Chinchilla's, and the lab says so with the measured numbers.
  4. μP (Yang et al. 2022): over a width sweep and a grid of learning rates, the best learning rate falls by
     about an octave per doubling of width under the standard parameterisation and stays put under μP (the
     seeds are paired: same init draws and batches for both). The coordinate check of the μP paper: after an
     Adam step the logits move ∝ width under SP and by a width-independent amount under μP.

Differences from the references
  - Hoffmann et al. trained 400+ models of 70M–16B parameters on up to 500B tokens of MassiveText, one cosine
    schedule per run. Here: models of 10³–10⁵ parameters, characters as tokens, and warmup-stable-decay branches
    (Hägele et al. 2024) so that one run yields every budget. The functional form and the fitting procedure are
    the paper's; the numbers are this corpus's at this scale.
  - L-BFGS starts from the best `fit_starts` points of the paper's 4,500-point grid (ranked by the objective at
    the start: 4 in quick, 100 in full), not from all of them: on the full ladder 50 ranked starts already give
    the whole grid's answer, which costs ≈ 70 s per fit here. Bootstrap refits start from the full-data fit and
    the resample's best grid point.
  - The μP sweep trains each (width, learning rate, seed) for a short constant-rate run; Yang et al. tune full
    training runs. The drift under SP is visible from the first steps, which is what the sweep measures.
  - The ladder uses μP itself (base width = the smallest rung), so that one learning rate serves every width,
    as μP-based ladders do (e.g. Cerebras-GPT, Dey et al. 2023).

Building blocks: modelbook/scaling/fit.py (Approach 3, bootstrap, compute-optimal allocation),
                 modelbook/scaling/mup.py (μP GPT, coordinate check), modelbook/scaling/ladder.py (FLOPs of the GPT,
                 WSD ladder, many learning rates at once with torch.func), modelbook/scaling/flops.py,
                 modelbook/nn/gpt.py, modelbook/nlp/charlm.py (vocabulary)
Cross-checks:    tests/scaling/test_fit.py (a known law recovered from noisy synthetic runs; closed form = grid
                 search over N at fixed C), tests/scaling/test_mup.py (coordinate check; μP at base width = SP),
                 tests/scaling/test_ladder.py (FLOPs = torch.utils.flop_counter; stacked Adam = torch.optim.Adam),
                 tests/labs/test_scaling.py (outcomes and bite tests)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.nlp.charlm import CharVocab
from modelbook.nn.gpt import GPTConfig, n_params
from modelbook.scaling.fit import BESIROGLU_2024, HOFFMANN_2022, ScalingLaw, bootstrap, fit_scaling_law
from modelbook.scaling.flops import CHINCHILLA_TOKENS_PER_PARAM, counted_flops
from modelbook.scaling.ladder import StackedTrainer, gpt_train_flops, windows, wsd_ladder
from modelbook.scaling.mup import MuGPT, coordinate_check, lr_multipliers, param_groups

HOFFMANN = "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, §3.3 (Approach 3)"
YANG = "Yang et al. 2022, Tensor Programs V (μP), Fig. 1 and Table 3"
CHINCHILLA_COMPUTE = 5.76e23   # FLOPs of the Gopher budget Chinchilla was trained on (Hoffmann et al. 2022)
KAPLAN_N_EXPONENT = 0.73       # Kaplan et al. 2020, §6: N_opt ∝ C^0.73 (their compute-efficient frontier)
HEAD_COUNT = 2                 # attention heads at every width (μP grows the head size, not the head count)
EVAL_SEED_OFFSET = 1           # cfg.seed + 1: the held-out windows, fixed for every model of a run
LADDER_DATA_OFFSET = 2         # cfg.seed + 2: the ladder's batch order, the same for every width
LADDER_INIT_OFFSET = 3         # cfg.seed + 3: the ladder's weights (re-seeded per width)
SWEEP_DATA_OFFSET = 10         # cfg.seed + 10 + s: seed s's batches in the μP sweep, shared by SP and μP and all widths
SWEEP_INIT_OFFSET = 20         # cfg.seed + 20 + s: seed s's weights (SP and μP draw the same)
COORD_OFFSET = 30              # cfg.seed + 30: the coordinate check's batch and weights
BRUTE_FORCE_POINTS = 20_001    # N values of the brute-force iso-FLOP search (log-spaced over 6 decades)


@dataclass(frozen=True)
class Config:
    RANGES: ClassVar[dict] = {"mup_lr_log2": (-30.0, 10.0)}
    """bounds tighter or looser than the ones core.config infers from the field names (inclusive)"""
    train_chars: int = 2_000_000
    """characters of Shakespeare the batches are drawn from (the held-out tail is never among them)"""
    seq: int = 32
    """characters per training window (the GPT's context)"""
    eval_windows: int = 256
    """held-out windows every model is scored on"""
    ladder_widths: tuple[int, ...] = (16, 24, 32, 48, 64, 96)
    """d_model of the ladder's rungs (the smallest is μP's base width)"""
    ladder_layers: int = 2
    """transformer blocks of every rung (only the width grows along the ladder)"""
    ladder_batch: int = 32
    """windows per training step of the ladder"""
    budgets: tuple[int, ...] = (200, 400, 800, 1600)
    """training steps of each run (tokens = steps × batch × seq)"""
    ladder_lr: float = 0.03
    """Adam step size at base width (μP carries it to the other widths)"""
    warmup: int = 50
    """linear warm-up steps of the ladder's main run"""
    cooldown_fraction: float = 0.2
    """share of each budget spent decaying the step size to zero (warmup-stable-decay)"""
    fit_starts: int = 100
    """grid points refined by L-BFGS, the best by their starting objective (0 = all 4,500 of Hoffmann et al.'s grid)"""
    n_bootstrap: int = 200
    """bootstrap refits of the law (runs resampled with replacement)"""
    heldout_tolerance: float = 0.03
    """largest mean relative error allowed on the held-out runs (largest width, longest budget)"""
    mup_widths: tuple[int, ...] = (32, 64, 128, 256)
    """widths of the learning-rate sweep (the first is μP's base width)"""
    mup_layers: int = 2
    """transformer blocks of the sweep's models"""
    mup_lr_log2: tuple[float, ...] = (-10.0, -9.0, -8.0, -7.0, -6.0, -5.0, -4.0)
    """log2 of the swept Adam step sizes"""
    mup_seeds: int = 2
    """seeds per point of the sweep (paired between SP and μP); the optimum is taken on their mean loss"""
    mup_steps: int = 40
    """constant-rate Adam steps per (width, learning rate, seed) of the sweep"""
    mup_batch: int = 8
    """windows per step of the sweep and of the coordinate check"""
    mup_margin_octaves: float = 1.0
    """how much less (in octaves) μP's best learning rate must move across the widths than SP's"""
    coord_widths: tuple[int, ...] = (32, 64, 128, 256, 512)
    """widths of the coordinate check (the first is its base width)"""
    coord_lr: float = 1e-3
    """Adam step size of the coordinate check (small, so one step stays in the linear regime)"""
    seed: int = 0
    """the run's seed; every generator of the lab derives from it (offsets above)"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(train_chars=400_000, eval_windows=128, ladder_widths=(8, 12, 16, 24, 32), ladder_layers=1,
                    ladder_batch=16, budgets=(24, 48, 96, 192), ladder_lr=0.0625, warmup=6, fit_starts=4, n_bootstrap=16,
                    heldout_tolerance=0.05, mup_widths=(16, 32, 64), mup_layers=1,
                    mup_lr_log2=(-8.0, -7.0, -6.0, -5.0, -4.0, -3.0), mup_steps=20, mup_batch=8,
                    coord_widths=(32, 64, 128, 256)),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("scaling", cfg)
    vocab, train, heldout = _data(cfg)
    runs = _ladder(result, cfg, vocab, train, heldout)
    law = _fit(result, cfg, runs, out)
    _compute_optimal(result, cfg, law, runs, out)
    _mup_sweep(result, cfg, vocab, train, heldout, out)
    _coordinate_check(result, cfg, vocab, train, out)
    return result


def _data(cfg: Config):
    """Character ids of the training text and fixed held-out windows from the corpus's tail."""
    from modelbook.data.text import shakespeare, shakespeare_heldout

    held, text = shakespeare_heldout(), shakespeare()
    vocab = CharVocab(text)                                       # every character of the corpus: no unknowns
    train = vocab.encode(text[:len(text) - len(held)].rstrip()[:cfg.train_chars])
    held_ids = vocab.encode(held)
    gen = torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET)
    starts = torch.randint(0, len(held_ids) - cfg.seq - 1, (cfg.eval_windows,), generator=gen)
    return vocab, train, windows(held_ids, starts, cfg.seq)


def _gpt(vocab: CharVocab, cfg: Config, width: int, layers: int, attention: str = "math") -> GPTConfig:
    """The written-out attention by default: torch.func.vmap batches it, and its FLOPs are the ones counted."""
    return GPTConfig(vocab_size=len(vocab), block_size=cfg.seq, n_layer=layers, n_head=HEAD_COUNT, d_model=width,
                     attention=attention)


# -- 1. the ladder ---------------------------------------------------------------------------------------
def _ladder(result: LabResult, cfg: Config, vocab, train, heldout) -> dict[str, np.ndarray]:
    """Train every width once with warmup-stable-decay branches; returns arrays N, D, L, C_exact per run."""

    gen = torch.Generator().manual_seed(cfg.seed + LADDER_DATA_OFFSET)
    starts = torch.randint(0, len(train) - cfg.seq - 1, (max(cfg.budgets), cfg.ladder_batch), generator=gen)
    base = cfg.ladder_widths[0]
    rows = []
    for width in progress.track(cfg.ladder_widths, "ladder: one warmup-stable-decay run per width"):
        gcfg = _gpt(vocab, cfg, width, cfg.ladder_layers, attention="sdpa")   # torch's fused kernel: same maths, faster
        torch.manual_seed(cfg.seed + LADDER_INIT_OFFSET)
        model = MuGPT(gcfg, base_width=base, mup=True)
        losses = wsd_ladder(model, param_groups(model, cfg.ladder_lr), train, heldout, cfg.budgets, starts, cfg.seq,
                            warmup=cfg.warmup, cooldown=cfg.cooldown_fraction)
        step_flops = gpt_train_flops(gcfg, cfg.ladder_batch, cfg.seq)      # as the written-out attention computes them
        for steps, loss in losses.items():
            tokens = steps * cfg.ladder_batch * cfg.seq
            result.metric(f"ladder/d{width}_steps{steps}/loss", loss, "nats/char")
            rows.append((n_params(gcfg), tokens, loss, steps * step_flops, width, steps))
    N, D, L, C, W, S = (np.array(col, dtype=float) for col in zip(*rows))
    result.metric("ladder/runs", len(rows))

    # FLOPs: our count of one step of the largest rung against torch's counter on the real model
    gcfg = _gpt(vocab, cfg, cfg.ladder_widths[-1], cfg.ladder_layers)
    model = MuGPT(gcfg, base_width=base)
    x, y = windows(train, starts[0], cfg.seq)
    counted = counted_flops(lambda: model(x, y).backward())
    ours = gpt_train_flops(gcfg, cfg.ladder_batch, cfg.seq)
    result.metric("flops/step_counted_largest", counted, "FLOP")
    result.check("FLOPs of one training step of the largest rung: our count vs torch.utils.flop_counter",
                 ours, reference=counted, tolerance=0.0, source="torch.utils.flop_counter.FlopCounterMode on the same model and batch",
                 unit="FLOP")
    ratio = 6 * N * D / C
    result.metric("flops/6ND_over_exact_smallest", ratio[W == W.min()][0])
    result.metric("flops/6ND_over_exact_largest", ratio[W == W.max()][0])
    result.note(f"6·N·D with N = all parameters is ×{ratio.min():.2f}–×{ratio.max():.2f} the counted FLOPs here. Two errors "
                "pull in opposite directions: token and position embeddings are parameters that do no matrix products "
                f"({_embedding_share(vocab, cfg, cfg.ladder_widths[0]):.0%} of the smallest rung), and attention's Q·Kᵀ and P·V "
                "grow with the context, not with N. For a 70B model at 4k context both are a few percent.")
    return {"N": N, "D": D, "L": L, "C": C, "width": W, "steps": S}


def _embedding_share(vocab, cfg: Config, width: int) -> float:
    gcfg = _gpt(vocab, cfg, width, cfg.ladder_layers)
    return (gcfg.vocab_size + gcfg.block_size) * width / n_params(gcfg)


# -- 2. the fit --------------------------------------------------------------------------------------------
def _fit(result: LabResult, cfg: Config, runs, out: Path) -> ScalingLaw:
    N, D, L = runs["N"], runs["D"], runs["L"]
    with progress.status("fitting L(N, D) = E + A/N^α + B/D^β (Huber on log L, L-BFGS over the grid)"):
        law = fit_scaling_law(N, D, L, starts=cfg.fit_starts)
    for name, value in zip(("E", "A", "B", "alpha", "beta"), law.as_tuple()):
        result.metric(f"fit/{name}", value)
    result.metric("fit/a", law.a)
    result.metric("fit/b", law.b)
    resid = np.log(law.loss(N, D)) - np.log(L)
    result.metric("fit/rms_log_residual", float(np.sqrt(np.mean(resid ** 2))))

    rng = np.random.default_rng(cfg.seed)                         # the bootstrap's resampling
    boot = bootstrap(N, D, L, cfg.n_bootstrap, rng, start=law)
    a_boot = boot[:, 4] / (boot[:, 3] + boot[:, 4])
    for name, col in (("E", boot[:, 0]), ("alpha", boot[:, 3]), ("beta", boot[:, 4]), ("a", a_boot)):
        lo, hi = np.percentile(col, [2.5, 97.5])
        result.metric(f"fit/{name}_ci_low", lo)
        result.metric(f"fit/{name}_ci_high", hi)

    # held out: fit on the smaller widths and shorter budgets, predict the largest width and the longest budget
    held = (N == N.max()) | (D == D.max())
    part = fit_scaling_law(N[~held], D[~held], L[~held], starts=cfg.fit_starts)
    rel = np.abs(part.loss(N[held], D[held]) / L[held] - 1)
    result.metric("heldout/runs", int(held.sum()))
    result.metric("heldout/max_rel_error", rel.max())
    mean_rel = result.metric("heldout/mean_rel_error", rel.mean())
    result.check(f"held-out runs (largest width, longest budget: {int(held.sum())}) predicted by the law fitted on the rest, mean |relative error|",
                 mean_rel, reference=0.0, tolerance=cfg.heldout_tolerance, kind="at_most",
                 source=f"the stated threshold ({cfg.heldout_tolerance:.0%}); functional form and fitting procedure: " + HOFFMANN)
    _plot_ladder(runs, law, part, held, out, result)
    result.note(f"Fitted here: α = {law.alpha:.2f} (95% bootstrap interval {result.value('fit/alpha_ci_low'):.2f}–"
                f"{result.value('fit/alpha_ci_high'):.2f}), β = {law.beta:.2f} ({result.value('fit/beta_ci_low'):.2f}–"
                f"{result.value('fit/beta_ci_high'):.2f}), E = {law.E:.2f} nats/char. Hoffmann et al. report α = 0.34, "
                "β = 0.28, E = 1.69 nats/token for MassiveText; Besiroglu et al.'s refit gives α = 0.35, β = 0.37; Kaplan "
                "et al. 2020 fit α_N ≈ 0.076, α_D ≈ 0.095 to a different form. Exponents measured on 10³–10⁵-parameter "
                "character models are not comparable numbers, only the same shape.")
    return law


def _plot_ladder(runs, law: ScalingLaw, part: ScalingLaw, held, out: Path, result: LabResult) -> None:
    fig, ax = plots.figure(1, 2, size=(10.5, 4))
    N, D, L = runs["N"], runs["D"], runs["L"]
    d_grid = np.geomspace(D.min(), D.max(), 50)
    for i, n in enumerate(np.unique(N)):
        sel = N == n
        color = f"C{i}"
        ax[0].plot(D[sel], L[sel], "o", color=color, label=f"N = {n:,.0f}")
        ax[0].plot(d_grid, law.loss(n, d_grid), "-", color=color, lw=1)
        ax[0].plot(d_grid, part.loss(n, d_grid), ":", color=color, lw=1)
    ax[0].plot(D[held], L[held], "kx", ms=9, label="held out")
    ax[0].set(xscale="log", xlabel="training tokens D (characters)", ylabel="held-out loss (nats/char)",
              title="ladder: fit on all (—) and on the rest (···)")
    ax[0].legend(fontsize=7)
    ax[1].plot(law.loss(N, D), L, "o")
    lims = [L.min() * 0.98, L.max() * 1.02]
    ax[1].plot(lims, lims, "k--", lw=1)
    ax[1].set(xlabel="predicted loss", ylabel="measured loss", title="fit on all runs")
    result.artifact(plots.save(fig, out / "ladder_fit.png"))


# -- 3. compute-optimal allocation ------------------------------------------------------------------------
def _brute_force_optimum(law: ScalingLaw, C: float) -> float:
    """N minimising law.loss(N, C / (6N)) over a fine log grid, then a local polish (a different method from
    the closed form)."""
    from scipy.optimize import minimize_scalar

    n_closed = law.optimal(C)[0]
    grid = np.geomspace(n_closed / 1e3, n_closed * 1e3, BRUTE_FORCE_POINTS)
    i = int(np.argmin(law.loss(grid, C / (6 * grid))))
    lo, hi = math.log(grid[max(i - 1, 0)]), math.log(grid[min(i + 1, len(grid) - 1)])
    res = minimize_scalar(lambda ln: law.loss(math.exp(ln), C / (6 * math.exp(ln))), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-10})
    return math.exp(res.x)


def _compute_optimal(result: LabResult, cfg: Config, law: ScalingLaw, runs, out: Path) -> None:
    C_max = float((6 * runs["N"] * runs["D"]).max())               # the largest budget of the ladder, as 6ND
    n_opt, d_opt = law.optimal(C_max)
    brute = _brute_force_optimum(law, C_max)
    result.metric("optimal/C_max", C_max, "FLOP")
    result.metric("optimal/N_opt_at_C_max", n_opt)
    result.metric("optimal/D_opt_at_C_max", d_opt)
    result.metric("optimal/N_opt_brute_force_at_C_max", brute)
    result.check("compute-optimal N at the ladder's largest budget: closed form G·(C/6)^a vs brute-force search along 6ND = C",
                 n_opt, reference=brute, tolerance=1e-4, relative=True,
                 source="exact minimisation of the fitted law over N on a 20,001-point log grid + bounded polish; " + HOFFMANN + ", eq. 4")
    ratio = result.metric("optimal/tokens_per_param_at_C_max", d_opt / n_opt)
    ratio_small = result.metric("optimal/tokens_per_param_at_C_max_over_100", law.optimal(C_max / 100)[1] / law.optimal(C_max / 100)[0])
    ours = [law.optimal(C) for C in (C_max / 100, C_max)]
    result.note(f"From our fit, N_opt ∝ C^{law.a:.2f} and D_opt ∝ C^{law.b:.2f} (Chinchilla: ≈ C^0.5 each, Approach 3 as "
                f"published 0.46 / 0.54, Besiroglu et al. 0.51 / 0.49; Kaplan et al. 2020: N_opt ∝ C^{KAPLAN_N_EXPONENT}). "
                f"At the ladder's largest budget ({C_max:.2g} FLOPs) the optimum is {n_opt:,.0f} parameters on {d_opt:,.0f} "
                f"characters, {ratio:.1f} per parameter ({ratio_small:.1f} at 1/100 of it), against Chinchilla's ≈ "
                f"{CHINCHILLA_TOKENS_PER_PARAM} tokens per parameter. Characters carry less than BPE tokens and these exponents "
                "are this scale's: the ratio is not expected to match, and it drifts with C unless α = β.")
    bes_n, bes_d = BESIROGLU_2024.optimal(CHINCHILLA_COMPUTE)
    hof_n, hof_d = HOFFMANN_2022.optimal(CHINCHILLA_COMPUTE)
    result.note(f"The published laws at Chinchilla's budget ({CHINCHILLA_COMPUTE:.3g} FLOPs): Besiroglu et al. 2024's refit (arXiv 2404.10102) puts the "
                f"optimum at {bes_n / 1e9:.0f}B parameters and {bes_d / 1e12:.2f}T tokens ({bes_d / bes_n:.0f} per parameter, "
                f"Chinchilla itself: 70B on 1.4T); Hoffmann et al.'s printed Approach-3 values give {hof_n / 1e9:.0f}B and "
                f"{hof_d / hof_n:.0f} per parameter, the disagreement with their Approaches 1–2 that Besiroglu et al. trace to "
                "the rounding and to an optimiser stopped early.")

    fig, ax = plots.figure(1, 2, size=(10.5, 4))
    budgets = np.geomspace(C_max / 1000, C_max * 10, 5)
    for i, C in enumerate(budgets):
        n = np.geomspace(law.optimal(C)[0] / 100, law.optimal(C)[0] * 100, 80)
        ax[0].plot(n, law.loss(n, C / (6 * n)), color=f"C{i}", label=f"C = {C:.1e}")
        ax[0].plot(*[[v] for v in (law.optimal(C)[0], law.loss(*law.optimal(C)))], "o", color=f"C{i}")
    ax[0].set(xscale="log", xlabel="parameters N", ylabel="predicted loss", title="iso-FLOP curves of the fitted law")
    ax[0].legend(fontsize=7)
    cs = np.geomspace(C_max / 1000, C_max * 1000, 40)
    n_c, d_c = law.optimal(cs)
    ax[1].plot(cs, d_c / n_c, label=f"ours (a = {law.a:.2f})")
    ax[1].axhline(CHINCHILLA_TOKENS_PER_PARAM, color="k", ls="--", lw=1, label="Chinchilla ≈ 20")
    ax[1].plot([c for c in (C_max / 100, C_max)], [d / n for n, d in ours], "o", color="C0")
    ax[1].set(xscale="log", yscale="log", xlabel="compute C (FLOPs, 6ND)", ylabel="tokens per parameter at the optimum",
              title="compute-optimal allocation")
    ax[1].legend(fontsize=7)
    result.artifact(plots.save(fig, out / "compute_optimal.png"))


# -- 4. μP: the best learning rate across widths ----------------------------------------------------------
def optimal_log2_lr(log2_lrs, losses) -> float:
    """log2 of the best step size: the grid minimum refined by the parabola through it and its two neighbours
    (the grid point itself at the grid's edge or next to a diverged run)."""
    x, y = np.asarray(log2_lrs, float), np.asarray(losses, float)
    i = int(np.argmin(y))
    if 0 < i < len(y) - 1 and np.isfinite(y[i - 1:i + 2]).all():
        y0, y1, y2 = y[i - 1:i + 2]
        curve = y0 - 2 * y1 + y2
        if curve > 0:
            return float(x[i] + 0.5 * (x[i + 1] - x[i]) * (y0 - y2) / curve)
    return float(x[i])


def _mup_sweep(result: LabResult, cfg: Config, vocab, train, heldout, out: Path) -> None:
    lrs = [2.0 ** v for v in cfg.mup_lr_log2]
    gens = [torch.Generator().manual_seed(cfg.seed + SWEEP_DATA_OFFSET + s) for s in range(cfg.mup_seeds)]
    starts = torch.stack([torch.randint(0, len(train) - cfg.seq - 1, (cfg.mup_steps, cfg.mup_batch), generator=g) for g in gens])
    base = cfg.mup_widths[0]
    curves, best = {}, {}
    jobs = [(mup, w) for mup in (False, True) for w in cfg.mup_widths]
    for mup, width in progress.track(jobs, "μP: learning-rate sweep per width, SP and μP"):
        name = "mup" if mup else "sp"
        if mup and width == base:                                  # μP at base width is SP, weight for weight
            curves[name, width] = curves["sp", width]
        else:
            gcfg = _gpt(vocab, cfg, width, cfg.mup_layers)
            models, copy_lrs, copy_starts = [], [], []
            for s in range(cfg.mup_seeds):
                for lr in lrs:
                    torch.manual_seed(cfg.seed + SWEEP_INIT_OFFSET + s)
                    models.append(MuGPT(gcfg, base_width=base, mup=mup))
                    copy_lrs.append(lr)
                    copy_starts.append(starts[s])
            trainer = StackedTrainer(models, copy_lrs, lr_multipliers(models[0]))
            batches = torch.stack(copy_starts)                      # (K, steps, batch)
            for t in range(cfg.mup_steps):
                trainer.step(*windows(train, batches[:, t], cfg.seq))
            curves[name, width] = trainer.heldout(*heldout).view(cfg.mup_seeds, len(lrs)).numpy()
        mean = curves[name, width].mean(axis=0)
        best[name, width] = optimal_log2_lr(cfg.mup_lr_log2, mean)
        result.metric(f"mup/{name}/d{width}/best_log2_lr", best[name, width])
        result.metric(f"mup/{name}/d{width}/best_loss", float(mean.min()), "nats/char")
    spread = {}
    for name in ("sp", "mup"):
        opt = np.array([best[name, w] for w in cfg.mup_widths])
        spread[name] = result.metric(f"mup/{name}/spread_octaves", opt.max() - opt.min())
        slope = np.polyfit(np.log2(cfg.mup_widths), opt, 1)[0]
        result.metric(f"mup/{name}/octaves_per_width_doubling", slope)
        per_seed = [optimal_log2_lr(cfg.mup_lr_log2, curves[name, w][s]) for s in range(cfg.mup_seeds) for w in cfg.mup_widths]
        per_seed = np.array(per_seed).reshape(cfg.mup_seeds, len(cfg.mup_widths))
        result.metric(f"mup/{name}/spread_octaves_worst_seed", float((per_seed.max(1) - per_seed.min(1)).max()))
    result.check(f"best learning rate across widths {cfg.mup_widths[0]}→{cfg.mup_widths[-1]}: SP's spread minus μP's (octaves)",
                 spread["sp"] - spread["mup"], reference=cfg.mup_margin_octaves, tolerance=0.0, kind="at_least", unit="octaves",
                 source=YANG + "; the ordering is against SP on the same seeds, batches and initial weights")
    result.note(f"Best Adam step size, widths {list(cfg.mup_widths)}: SP 2^"
                + ", 2^".join(f"{best['sp', w]:.1f}" for w in cfg.mup_widths) + "; μP 2^"
                + ", 2^".join(f"{best['mup', w]:.1f}" for w in cfg.mup_widths)
                + ". Under SP, a hidden matrix's output moves ∝ η·width per Adam step, so the best η halves per doubling.")

    fig, ax = plots.figure(1, 2, size=(10.5, 4))
    for j, name in enumerate(("sp", "mup")):
        for i, w in enumerate(cfg.mup_widths):
            mean = curves[name, w].mean(axis=0)
            ax[j].plot(cfg.mup_lr_log2, np.minimum(mean, 6.0), "o-", color=f"C{i}", label=f"width {w}")
            ax[j].axvline(best[name, w], color=f"C{i}", ls=":", lw=1)
        ax[j].set(xlabel="log2 Adam step size", ylabel="held-out loss (nats/char)",
                  title="standard parameterisation" if name == "sp" else "μP")
        ax[j].legend(fontsize=7)
    result.artifact(plots.save(fig, out / "mup_lr_sweep.png"))


# -- 5. the coordinate check -----------------------------------------------------------------------------
def _coordinate_check(result: LabResult, cfg: Config, vocab, train, out: Path) -> None:
    gen = torch.Generator().manual_seed(cfg.seed + COORD_OFFSET)
    x, y = windows(train, torch.randint(0, len(train) - cfg.seq - 1, (cfg.mup_batch,), generator=gen), cfg.seq)
    sizes = {}
    for mup in (False, True):
        for width in cfg.coord_widths:
            torch.manual_seed(cfg.seed + COORD_OFFSET)
            model = MuGPT(_gpt(vocab, cfg, width, cfg.mup_layers), base_width=cfg.coord_widths[0], mup=mup)
            sizes[mup, width] = coordinate_check(model, x, y, cfg.coord_lr, steps=1)
    logw = np.log2(cfg.coord_widths)
    slopes = {}
    for mup in (False, True):
        name = "mup" if mup else "sp"
        for act in ("logits", "residual"):
            values = np.array([sizes[mup, w][act][0] for w in cfg.coord_widths])
            slopes[name, act] = result.metric(f"coord/{name}/{act}_loglog_slope", np.polyfit(logw, np.log2(values), 1)[0])
    result.check("coordinate check, SP: log-log slope of the logits' change per coordinate after one Adam step vs width",
                 slopes["sp", "logits"], reference=1.0, tolerance=0.25,
                 source=YANG + ": under SP an Adam step moves every readout weight by ≈ η, so the logits move ∝ width")
    result.check("coordinate check, μP: largest log-log slope (logits, residual stream) of the change per coordinate vs width",
                 max(slopes["mup", "logits"], slopes["mup", "residual"]), reference=0.0, tolerance=0.1, kind="at_most",
                 source=YANG + ": under μP every activation moves by Θ(1) per coordinate, independent of width")
    fig, ax = plots.figure(1, 2, size=(10.5, 3.8))
    for j, act in enumerate(("logits", "residual")):
        for mup, style in ((False, "o-"), (True, "s-")):
            ax[j].plot(cfg.coord_widths, [sizes[mup, w][act][0] for w in cfg.coord_widths], style,
                       label="μP" if mup else "SP")
        ax[j].set(xscale="log", yscale="log", xlabel="width d_model", ylabel="mean |Δ| per coordinate after 1 step",
                  title=f"coordinate check: {act}")
        ax[j].legend()
    result.artifact(plots.save(fig, out / "coordinate_check.png"))
