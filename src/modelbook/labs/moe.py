"""Mixture of experts: top-k routing, load balancing, capacity, MoE vs dense, expert parallelism (topic 43).

What this lab shows
  1. The layer: our sparse MoE (router, top-k, gates renormalised over the chosen experts, SwiGLU experts) equals
     transformers' MixtralSparseMoeBlock given the same router and expert weights (full preset; tests/nn/test_moe.py
     on every run of the suite). Counting the same way, Mixtral 8x7B's shapes give 46.7B parameters, 12.9B used per
     token: the paper's 47B / 13B.
  2. Router collapse, shown and fixed: character LMs on Shakespeare whose MLPs are 8 Switch experts (top-1), trained
     from the same inits three ways: no balancing, Switch's auxiliary loss α·E·Σ f·P (Fedus et al. 2021), and
     DeepSeek-V3's auxiliary-loss-free bias (Wang et al. 2024). Without balancing a few experts take most tokens;
     either remedy brings the expert-load entropy back towards its maximum, paired over 3 inits.
  3. Capacity: with a buffer of ⌈cf · N · k / E⌉ per expert, the collapsed router drops far more tokens than the
     balanced ones; the dropped count equals Σ_e max(0, n_e − C) counted from the loads alone.
  4. Cost: one training step's FLOPs from the formula (6 × active parameters × tokens + attention) equal
     torch.utils.flop_counter's count, for the MoE and for dense models; an MoE's FLOPs follow its active
     parameters, its memory its total parameters.
  5. MoE vs dense (full preset), top-2 of 8 experts: at equal active parameters (equal FLOPs per token) the MoE
     reaches a lower validation loss, paired over 3 inits; a dense model with the MoE's total parameters is better
     per step but pays E/k times the feed-forward FLOPs, and at the MoE's training compute it is still far behind;
     loss against training FLOPs is plotted. Paired runs share their data order and every weight outside the MoE
     layers (common random numbers: a dense baseline is one expert), so the differences measure the layers.
  6. Expert parallelism (full preset): 2 torchrun ranks (gloo) each hold half the experts; tokens travel by
     all-to-all to their experts and back. The output equals the whole layer in one process, the bytes sent
     off-rank match 2·N·k·d·4·(W−1)/W for an even router, and a collapsed router piles the expert work on one rank.

Differences from the references
  - Character LMs of ~10⁵ parameters trained for minutes on one CPU thread, not 10¹¹-parameter models on 10¹³
    tokens: the orderings (balancing raises entropy, MoE beats dense at equal active parameters) are what carries
    over, not the sizes of the gains. The MoE's lead over the equal-active dense model appears only after a few
    hundred steps (≈ 0 at 300 steps of 2,048 characters, 0.04-0.06 nats/char at 800), so it is checked in the full
    preset; the quick preset checks the routing mechanics and balancing, which show within 60 steps.
  - The equal-total dense model is trained from one init (the costliest run): its comparison is loss at equal
    training FLOPs, where the MoE leads by ~0.2 nats; per step it leads the MoE by 0.03-0.06 nats at 300 steps and
    by < 0.01 at 800, too close for one pair to check, so that is a note.
  - The bias step is γ = 0.01, ten times DeepSeek-V3's 0.001: V3 ran ~10⁵ steps, these runs a few hundred, and
    a bias of at most steps·γ has to move softmax probabilities in [0, 1]. All three balancing variants use the
    same softmax router so that only the balancing differs; V3 scores experts with a sigmoid (nn/moe.py has both).
  - V3 keeps a tiny sequence-wise auxiliary loss (α = 0.0001) beside the bias, has a shared expert and limits each
    token to 4 nodes; none of that is here.
  - Experts run as a loop over experts with index_select / index_add (as transformers' Mixtral does), not grouped
    GEMMs; on a CPU the loop's overhead, not FLOPs, dominates wall time, so time per step is reported, never checked.
  - Expert parallelism: gloo over loopback between 2 processes, forward only in the lab (tests/distributed checks
    the gradient too); the transport is nothing like NVLink/InfiniBand, so only bytes are checked, not speed.

Building blocks: modelbook/nn/moe.py (router, gates, Switch loss, capacity, bias, SparseMoE, MoEBlock on nn/gpt.py),
                 modelbook/distributed/expert_parallel.py (all-to-all dispatch and combine; launched by torchrun)
Cross-checks:    tests/nn/test_moe.py (= transformers' MixtralSparseMoeBlock and load_balancing_loss_func; capacity by
                 hand; FLOPs = torch.utils.flop_counter), tests/distributed/test_expert_parallel.py (2 gloo ranks =
                 one process, outputs and gradients), tests/labs/test_moe.py (outcomes and bite tests)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.core.train import Callback, fit
from modelbook.evaluation.uncertainty import paired_lower_bound
from modelbook.nlp.charlm import CharVocab, RandomWindows, evaluate
from modelbook.nn.gpt import GPTConfig
from modelbook.nn.moe import (
    BiasUpdate,
    MoEConfig,
    active_params,
    aux_loss,
    capacity,
    count_train_flops,
    load_entropy,
    mixtral_params,
    moe_gpt,
    moe_layers,
    route,
    routed_loads,
    seeded_init,
    switch_loss,
    train_flops,
)

SHAZEER = "Shazeer et al. 2017, 'Outrageously Large Neural Networks' §4: gating collapses onto a few experts unless balanced"
SWITCH = "Fedus et al. 2021 (Switch Transformers) §2.2, eq. 4-6: auxiliary loss α·N·Σ f_i·P_i, α = 10⁻², capacity factor"
LOSS_FREE = "Wang et al. 2024 (Auxiliary-Loss-Free Load Balancing); DeepSeek-AI 2024 (DeepSeek-V3) §2.1.2: b_i ± γ by load"
MIXTRAL = "Jiang et al. 2024 (Mixtral of Experts) §2: 8 experts, top-2; '47B parameters, 13B active'"
FLOP_COUNTER = "torch 2.13 torch.utils.flop_counter.FlopCounterMode on one forward + backward, 'math' attention"
VARIANTS = ("none", "switch", "bias")   # the balancing study: no balancing, Switch's loss, DeepSeek-V3's bias
ONE_SIDED = 0.95                        # confidence of the one-sided t bounds on paired gains over inits
# Mixtral 8x7B's config.json (mistralai/Mixtral-8x7B-v0.1): d 4096, F 14336, 32 layers, 32 heads, 8 KV heads,
# vocabulary 32,000, 8 experts, top-2; the paper rounds to whole billions, hence the 0.5B tolerance.
MIXTRAL_8X7B = dict(hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, vocab=32000, experts=8, top_k=2)
MIXTRAL_PUBLISHED = {"total": 47e9, "active": 13e9}
DEEPSEEK_V3 = {"total": 671e9, "active": 37e9}   # DeepSeek-AI 2024, abstract (256 routed + 1 shared expert, top-8)
EP_BYTES_TOL = 0.05   # an even router's off-rank share is binomial: ±0.6% sd at 4,096 tokens × 2; 5% leaves room
# added to a run's stream to seed its routers and experts; a lab run's streams span seed·100 + 0..99, so this offset
# never lands on another run's stream within the run
MOE_INIT_STREAM = 10_000


@dataclass(frozen=True)
class Config:
    train_chars: int = 1_000_000
    """Shakespeare characters to train on (the held-out tail is never among them)"""
    val_chars: int = 20_000
    """held-out characters for validation loss and expert loads"""
    block: int = 32
    """characters per training window"""
    batch: int = 16
    """windows per step"""
    d_model: int = 32
    n_layer: int = 2
    n_head: int = 4
    lr: float = 3e-3
    """AdamW learning rate (no weight decay)"""
    n_experts: int = 8
    balance_d_expert: int = 64
    """hidden width of each Switch expert in the balancing study (top-1)"""
    balance_steps: int = 100
    """training steps of each balancing-study model"""
    n_inits: int = 3
    """paired initialisations per comparison (the same init and batches for every variant)"""
    aux_alpha: float = 0.01
    """Switch's auxiliary-loss weight α (Fedus et al. 2021 use 10⁻²)"""
    bias_gamma: float = 0.01
    """DeepSeek-V3 bias step γ (V3: 0.001 over ~10⁵ steps; see the module docstring)"""
    capacity_factors: tuple[float, ...] = (1.0, 1.25, 2.0)
    """capacity factors applied to the trained routers on the validation text"""
    lm_steps: int = 800
    """training steps of each MoE-vs-dense model (0: skip that part)"""
    lm_block: int = 64
    lm_batch: int = 32
    lm_d_model: int = 48
    lm_top_k: int = 2
    lm_d_expert: int = 48
    """hidden width of each of the E top-2 experts; dense equal-active F = k·this, equal-total F = E·this"""
    lm_evals: int = 4
    """validation points along each MoE-vs-dense run (for loss vs FLOPs)"""
    total_inits: int = 1
    """inits of the equal-total dense model (the costliest run; its loss-vs-FLOPs curve is the comparison)"""
    mixtral_check: bool = True
    """compare with transformers' MixtralSparseMoeBlock in the run (importing transformers costs ~4-6 CPU-s)"""
    expert_parallel: bool = True
    """launch 2 torchrun ranks for the all-to-all measurement"""
    ep_tokens: int = 4096
    """tokens per rank in the expert-parallel run"""
    ep_d_model: int = 256
    ep_d_expert: int = 512
    ep_timeout_s: float = 300
    """give up on the torchrun workers after this many seconds"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(train_chars=300_000, val_chars=4096, balance_steps=60, lm_steps=0, mixtral_check=False,
                    expert_parallel=False),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("moe", cfg)
    vocab, train, val = _data(cfg)
    result.metric("data/train_chars", len(train))
    _parameters(result, cfg)
    if cfg.mixtral_check:
        _equal_to_mixtral(result, cfg)
    models = _balancing(result, cfg, vocab, train, val, out)
    _capacity(result, cfg, models, val, out)
    _flops(result, cfg, len(vocab))
    if cfg.lm_steps:
        _moe_vs_dense(result, cfg, vocab, train, val, out)
    else:
        result.note("MoE vs dense at equal active and equal total parameters is trained in the full preset only: the MoE's "
                    "lead only emerges after ~10⁶ training characters per model (≈ 0.05 nats/char after 800 steps of 2,048), far "
                    "more than a quick run can afford")
    if cfg.expert_parallel:
        _expert_parallel(result, cfg, out)
    else:
        result.note("expert parallelism (2 torchrun ranks, all-to-all) runs in the full preset; tests/distributed/"
                    "test_expert_parallel.py checks it on 2 gloo ranks in every test run")
    return result


def _data(cfg: Config):
    from modelbook.data.text import shakespeare, shakespeare_heldout

    held, text = shakespeare_heldout(), shakespeare()
    train_text = text[:len(text) - len(held)].rstrip()[:cfg.train_chars]
    vocab = CharVocab(train_text)
    return vocab, vocab.encode(train_text), vocab.encode(held[:cfg.val_chars])


def _gpt(cfg: Config, vocab: int, lm: bool = False, attention: str = "sdpa") -> GPTConfig:
    if lm:
        return GPTConfig(vocab_size=vocab, block_size=cfg.lm_block, n_layer=cfg.n_layer, n_head=cfg.n_head,
                         d_model=cfg.lm_d_model, attention=attention)
    return GPTConfig(vocab_size=vocab, block_size=cfg.block, n_layer=cfg.n_layer, n_head=cfg.n_head,
                     d_model=cfg.d_model, attention=attention)


def _switch_cfg(cfg: Config) -> MoEConfig:
    """The balancing study's layer: Switch routing, top-1 with the raw softmax gate (renormalising one gate gives 1)."""
    return MoEConfig(cfg.d_model, cfg.balance_d_expert, cfg.n_experts, top_k=1, normalize=False)


def _lm_cfgs(cfg: Config) -> dict[str, MoEConfig]:
    d, F, E, k = cfg.lm_d_model, cfg.lm_d_expert, cfg.n_experts, cfg.lm_top_k
    return {"dense_equal_active": MoEConfig(d, k * F, 1, 1), "moe": MoEConfig(d, F, E, k),
            "dense_equal_total": MoEConfig(d, E * F, 1, 1)}


# -- 1. parameters: what a token uses, what memory holds --------------------------------------------------------
def _parameters(result: LabResult, cfg: Config) -> None:
    p = mixtral_params(**MIXTRAL_8X7B)
    for key in ("total", "active"):
        result.metric(f"mixtral_8x7b/{key}_params_billion", p[key] / 1e9, "B")
        result.check(f"Mixtral 8x7B {key} parameters from its shapes (billions)", p[key] / 1e9,
                     reference=MIXTRAL_PUBLISHED[key] / 1e9, tolerance=0.5, source=MIXTRAL, kind="close")
    result.note(f"DeepSeek-V3: {DEEPSEEK_V3['total'] / 1e9:.0f}B total, {DEEPSEEK_V3['active'] / 1e9:.0f}B active "
                f"({DEEPSEEK_V3['active'] / DEEPSEEK_V3['total']:.1%}) vs Mixtral 8x7B's {p['active'] / p['total']:.1%}: finer "
                f"experts (256 routed + 1 shared, top-8) make a token use a smaller share (DeepSeek-AI 2024)")


def _equal_to_mixtral(result: LabResult, cfg: Config) -> None:
    from transformers import MixtralConfig
    from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

    from modelbook.nn.moe import SparseMoE

    d, F, E, k = cfg.lm_d_model, cfg.lm_d_expert, cfg.n_experts, cfg.lm_top_k
    block = MixtralSparseMoeBlock(MixtralConfig(hidden_size=d, intermediate_size=F, num_local_experts=E, num_experts_per_tok=k))
    gen = torch.Generator().manual_seed(cfg.seed + 1)   # Mixtral's weights and inputs, apart from every model's init
    with torch.no_grad():
        for p in block.parameters():   # MixtralExperts allocates with torch.empty: fill every tensor
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
        x = torch.randn(4, cfg.lm_block, d, generator=gen)
        diff = float((SparseMoE(MoEConfig(d, F, E, k)).load_mixtral(block)(x) - block(x)).abs().max())
    result.metric("mixtral/max_abs_diff", diff)
    result.check(f"our MoE layer vs transformers MixtralSparseMoeBlock ({E} experts, top-{k}), same weights, max |diff|",
                 diff, reference=0.0, tolerance=1e-5, source="transformers 5.24 MixtralSparseMoeBlock, same inputs and weights",
                 kind="at_most")


# -- 2. balancing: collapse shown and fixed -----------------------------------------------------------------------
def train_lm(model, train: torch.Tensor, block: int, batch: int, steps: int, lr: float, stream: int,
             alpha: float = 0.0, gamma: float = 0.0, callbacks=(), description: str = "training"):
    """Train a moe_gpt from a seeded init on seeded windows; `stream` seeds both (so variants trained with the same
    stream start from the same weights and see the same batches). alpha: Switch's loss weight; gamma: V3's bias step."""
    seeded_init(model, stream, MOE_INIT_STREAM)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    cbs = list(callbacks) + ([BiasUpdate(gamma)] if gamma else [])

    def loss_fn(m, b):
        loss = m(b[0], b[1])
        return loss + alpha * aux_loss(m) if alpha else loss

    fit(model, RandomWindows(train, block, batch, steps, seed=stream), opt, 1, loss_fn=loss_fn, callbacks=cbs,
        description=description)
    return model


def paired_gain(gains) -> dict[str, float]:
    """Mean paired gain over inits and its one-sided lower bound (Student t, ONE_SIDED)."""
    g = np.asarray(gains, dtype=float)
    return {"mean": float(g.mean()), "lower": paired_lower_bound(g, ONE_SIDED), "min": float(g.min())}


def _balancing(result: LabResult, cfg: Config, vocab, train, val, out: Path) -> dict:
    entropy = {v: [] for v in VARIANTS}
    busiest = {v: [] for v in VARIANTS}
    models: dict[str, list] = {v: [] for v in VARIANTS}
    loads_first = {}
    for i in progress.track(range(cfg.n_inits), "balancing: none / Switch loss / V3 bias"):
        stream = cfg.seed * 100 + i   # init i: the same weights and batches for the three variants; 100 apart per seed
        for v in VARIANTS:
            model = moe_gpt(_gpt(cfg, len(vocab)), _switch_cfg(cfg))
            train_lm(model, train, cfg.block, cfg.batch, cfg.balance_steps, cfg.lr, stream,
                     alpha=cfg.aux_alpha if v == "switch" else 0.0, gamma=cfg.bias_gamma if v == "bias" else 0.0,
                     description=f"init {i}: {v}")
            loads = routed_loads(model, val, cfg.block)
            entropy[v].append(float(np.mean([load_entropy(c) for c in loads])))
            busiest[v].append(float(np.mean([float(c.max() / c.sum()) for c in loads])))
            result.metric(f"balance/init{i}_{v}_val_nats", evaluate(model, val, cfg.block), "nats/char")
            models[v].append(model)
            if i == 0:
                loads_first[v] = loads
    E = cfg.n_experts
    for v in VARIANTS:
        result.metric(f"balance/{v}_load_entropy", float(np.mean(entropy[v])))
        result.metric(f"balance/{v}_busiest_expert_share", float(np.mean(busiest[v])))
    result.check(f"router collapse without balancing: the busiest expert's share of tokens (even = 1/{E}), mean of "
                 f"{cfg.n_inits} inits", float(np.mean(busiest["none"])), reference=2 / E, tolerance=0.0, source=SHAZEER,
                 kind="at_least", note=f"at least twice the even share {1 / E:.3f}")
    for v, source in (("switch", SWITCH), ("bias", LOSS_FREE)):
        gain = paired_gain(np.array(entropy[v]) - np.array(entropy["none"]))
        result.metric(f"balance/{v}_entropy_gain_mean", gain["mean"])
        result.metric(f"balance/{v}_entropy_gain_lower", gain["lower"])
        name = "Switch's auxiliary loss" if v == "switch" else "DeepSeek-V3's bias (no auxiliary loss)"
        result.check(f"{name} raises the expert-load entropy over no balancing: {ONE_SIDED:.0%} lower bound of the paired "
                     f"gain over {cfg.n_inits} inits (entropy / log E)", gain["lower"], reference=0.0, tolerance=0.0, source=source,
                     kind="at_least", note=f"entropy/log E: none {np.mean(entropy['none']):.2f}, Switch "
                                           f"{np.mean(entropy['switch']):.2f}, bias {np.mean(entropy['bias']):.2f}")
    _switch_loss_by_two_routes(result, models["switch"][0], val, cfg)
    _plot_loads(loads_first, entropy, out, result)
    return models


def switch_loss_by_loop(scores: np.ndarray, experts: np.ndarray, n_experts: int) -> float:
    """Fedus et al. eq. 4-6 token by token: f_i += 1/N for each expert a token is sent to, P_i += p_i(x)/N."""
    n = len(scores)
    f, p = np.zeros(n_experts), np.zeros(n_experts)
    for t in range(n):
        for e in experts[t]:
            f[e] += 1 / n
        p += scores[t] / n
    return float(n_experts * (f * p).sum())


@torch.no_grad()
def _switch_loss_by_two_routes(result: LabResult, model, val: torch.Tensor, cfg: Config) -> None:
    captured = []
    layer = moe_layers(model)[0]
    handle = layer.register_forward_hook(lambda m, args, output: captured.append(args[0].reshape(-1, args[0].shape[-1])))
    try:
        routed_loads(model, val, cfg.block)
    finally:
        handle.remove()
    r = route(layer.router(captured[0]), 1, normalize=False)
    ours = float(switch_loss(r.scores, r.experts, cfg.n_experts))
    loop = switch_loss_by_loop(r.scores.double().numpy(), r.experts.numpy(), cfg.n_experts)
    result.metric("balance/switch_loss_trained_router", ours)
    result.check("Switch loss E·Σ f·P, vectorised vs a per-token loop (trained router, layer 1, validation text)",
                 abs(ours - loop), reference=0.0, tolerance=1e-6, source="exact sum by a different route (token loop)",
                 kind="at_most", note=f"{ours:.4f}; 1 = perfectly even, E = {cfg.n_experts} = all on one expert")


def _plot_loads(loads_first: dict, entropy: dict, out: Path, result: LabResult) -> None:
    fig, axes = plots.figure(1, 2, size=(10, 3.6))
    E = len(loads_first["none"][0])
    layer = int(np.argmin([load_entropy(c) for c in loads_first["none"]]))   # collapse is per layer: show the worst
    width = 0.27
    for j, v in enumerate(VARIANTS):
        share = loads_first[v][layer].double()
        axes[0].bar(np.arange(E) + (j - 1) * width, (share / share.sum()).numpy(), width, label=v)
    axes[0].axhline(1 / E, color="k", lw=0.8, ls="--")
    axes[0].set(xlabel="expert", ylabel="share of validation tokens", title=f"Expert loads (init 0, layer {layer + 1})")
    axes[0].legend()
    for j, v in enumerate(VARIANTS):
        axes[1].plot([j] * len(entropy[v]), entropy[v], "o", alpha=0.7)
    axes[1].set(xticks=range(3), xticklabels=VARIANTS, ylabel="load entropy / log E", ylim=(0, 1.05),
                title="Expert-load entropy, each init")
    result.artifact(plots.save(fig, out / "expert_loads.png"))


# -- 3. capacity: dropped tokens ----------------------------------------------------------------------------------
def dropped_by_formula(counts: torch.Tensor, cap: int) -> int:
    """Σ_e max(0, n_e − C): the assignments over the buffer, from the loads alone (no queue, no priorities)."""
    return int((counts - cap).clamp(min=0).sum())


@torch.no_grad()
def _capacity(result: LabResult, cfg: Config, models: dict, val: torch.Tensor, out: Path) -> None:
    n = len(val) // cfg.block
    x = val[:n * cfg.block].view(n, cfg.block)
    drop = {v: {cf: [] for cf in cfg.capacity_factors} for v in VARIANTS}
    worst_mismatch = 0
    for v in VARIANTS:
        for model in models[v]:
            model.eval()
            for cf in cfg.capacity_factors:
                for layer in moe_layers(model):
                    layer.cfg = _with_capacity(layer.cfg, cf)
                model(x)
                stats = [layer.stats for layer in moe_layers(model)]
                cap = capacity(x.numel(), 1, cfg.n_experts, cf)
                worst_mismatch = max(worst_mismatch, max(abs(s.dropped - dropped_by_formula(s.counts, cap)) for s in stats))
                drop[v][cf].append(sum(s.dropped for s in stats) / sum(s.n_assignments for s in stats))
            for layer in moe_layers(model):
                layer.cfg = _with_capacity(layer.cfg, None)
    for v in VARIANTS:
        for cf in cfg.capacity_factors:
            result.metric(f"capacity/{v}_dropped_share_cf{cf:g}", float(np.mean(drop[v][cf])))
    result.check("dropped assignments (queue with first-choice priority) = Σ_e max(0, n_e − C) from the loads, every "
                 "layer, model and capacity factor (largest difference)", worst_mismatch, reference=0, tolerance=0,
                 source="exact count by a different route (loads only)", kind="at_most")
    cf = min(cfg.capacity_factors)
    gain = paired_gain(np.array(drop["none"][cf]) - np.array(drop["switch"][cf]))
    result.metric("capacity/collapsed_minus_switch_dropped_lower", gain["lower"])
    result.check(f"at capacity factor {cf:g} the collapsed router drops more tokens than the Switch-balanced one: "
                 f"{ONE_SIDED:.0%} lower bound of the paired difference in dropped share", gain["lower"], reference=0.0,
                 tolerance=0.0, source=SWITCH, kind="at_least",
                 note=f"dropped share none {np.mean(drop['none'][cf]):.1%}, Switch {np.mean(drop['switch'][cf]):.1%}, "
                      f"bias {np.mean(drop['bias'][cf]):.1%}")
    fig, ax = plots.figure()
    for v in VARIANTS:
        ax.plot(cfg.capacity_factors, [np.mean(drop[v][c]) for c in cfg.capacity_factors], "o-", label=v)
    ax.set(xlabel="capacity factor", ylabel="share of assignments dropped", title="Dropped tokens vs capacity (validation)")
    ax.legend()
    result.artifact(plots.save(fig, out / "capacity.png"))


def _with_capacity(moe_cfg: MoEConfig, cf: float | None) -> MoEConfig:
    return replace(moe_cfg, capacity_factor=cf)


# -- 4. FLOPs: formula vs torch's counter -------------------------------------------------------------------------
def _flops(result: LabResult, cfg: Config, vocab: int) -> None:
    gpt = _gpt(cfg, vocab, lm=True, attention="math")
    ids = torch.randint(0, vocab, (2, cfg.lm_block), generator=torch.Generator().manual_seed(cfg.seed + 2))  # FLOPs only
    worst = 0.0
    for name, moe in _lm_cfgs(cfg).items():
        torch.manual_seed(cfg.seed + 3)   # any weights: the count depends on shapes and routing sizes only
        counted = count_train_flops(moe_gpt(gpt, moe), ids)
        formula = train_flops(gpt, moe, 2, cfg.lm_block)["total"]
        result.metric(f"flops/{name}_per_step_counted", counted)
        worst = max(worst, abs(counted - formula) / counted)
    result.check("training FLOPs of one step, formula (6 × active matmul parameters × tokens + attention) vs counted, "
                 "dense and MoE (largest relative difference)", worst, reference=0.0, tolerance=0.0, source=FLOP_COUNTER,
                 kind="at_most")


# -- 5. MoE vs dense ---------------------------------------------------------------------------------------------
class EvalAlong(Callback):
    """Validation loss at `points` steps along a run."""

    def __init__(self, val: torch.Tensor, block: int, points: list[int]):
        self.val, self.block, self.points, self.curve = val, block, set(points), []

    def on_step_end(self, state, loss, grad_norm) -> None:
        if state.step in self.points:
            self.curve.append((state.step, evaluate(state.model, self.val, self.block)))
            state.model.train()


def _moe_vs_dense(result: LabResult, cfg: Config, vocab, train, val, out: Path) -> None:
    gpt = _gpt(cfg, len(vocab), lm=True)
    points = [round(cfg.lm_steps * (j + 1) / cfg.lm_evals) for j in range(cfg.lm_evals)]
    curves: dict[str, list] = {name: [] for name in _lm_cfgs(cfg)}
    flops_per_step = {name: train_flops(gpt, moe, cfg.lm_batch, cfg.lm_block)["total"] for name, moe in _lm_cfgs(cfg).items()}
    for i in progress.track(range(cfg.n_inits), "MoE vs dense"):
        stream = cfg.seed * 100 + 50 + i   # init i of this part (50 apart from the balancing study's streams)
        for name, moe in _lm_cfgs(cfg).items():
            if name == "dense_equal_total" and i >= cfg.total_inits:
                continue
            ev = EvalAlong(val, cfg.lm_block, points)
            train_lm(moe_gpt(gpt, moe), train, cfg.lm_block, cfg.lm_batch, cfg.lm_steps, cfg.lr, stream,
                     alpha=cfg.aux_alpha if moe.n_experts > 1 else 0.0, callbacks=[ev], description=f"init {i}: {name}")
            curves[name].append([nats for _, nats in ev.curve])
    final = {name: np.array([c[-1] for c in curves[name]]) for name in curves}
    for name, moe in _lm_cfgs(cfg).items():
        p = active_params(gpt, moe)
        result.metric(f"lm/{name}_val_nats", float(final[name].mean()), "nats/char")
        result.metric(f"lm/{name}_params_total", p["total"])
        result.metric(f"lm/{name}_params_active", p["active"])
        result.metric(f"lm/{name}_train_flops_per_step", flops_per_step[name])
    active = paired_gain(final["dense_equal_active"] - final["moe"])
    result.metric("lm/moe_gain_vs_equal_active_mean", active["mean"], "nats/char")
    result.metric("lm/moe_gain_vs_equal_active_lower", active["lower"], "nats/char")
    result.check(f"MoE (top-{cfg.lm_top_k} of {cfg.n_experts}) beats dense at equal active parameters (equal FLOPs per "
                 f"token) after {cfg.lm_steps} steps: {ONE_SIDED:.0%} lower bound of the paired loss gain over "
                 f"{cfg.n_inits} inits (nats/char)", active["lower"], reference=0.0, tolerance=0.0, kind="at_least",
                 source="Shazeer et al. 2017; Fedus et al. 2021 Fig. 1 and §3: more experts at equal FLOPs per token "
                        "lower the loss", note=f"mean gain {active['mean']:.3f}; per init "
                                               + ", ".join(f"{g:+.3f}" for g in final["dense_equal_active"] - final["moe"]))
    # the equal-total dense model's loss at the MoE's final training FLOPs (interpolated along its curve, log FLOPs)
    moe_flops = flops_per_step["moe"] * points[-1]
    dense_total_there = loss_at_flops([flops_per_step["dense_equal_total"] * s for s in points],
                                      np.mean(curves["dense_equal_total"], axis=0), moe_flops)
    result.metric("lm/dense_equal_total_val_nats_at_moe_flops", dense_total_there, "nats/char")
    result.check(f"at equal training compute ({moe_flops:.2g} FLOPs) the MoE's loss is below that of the dense model with "
                 f"its total parameters (read off that model's loss-vs-FLOPs curve), nats/char", float(final["moe"].mean()),
                 reference=dense_total_there, tolerance=0.0, kind="at_most",
                 source="Fedus et al. 2021 §3 and Fig. 1: at a fixed compute budget the sparse model reaches a lower loss")
    per_step = final["moe"][:cfg.total_inits] - final["dense_equal_total"]   # init by init
    result.metric("lm/equal_total_gain_vs_moe_per_step", float(per_step.mean()), "nats/char")
    result.note(f"at equal steps ({cfg.lm_steps}) the dense model with the MoE's total parameters "
                f"({cfg.n_experts // cfg.lm_top_k}× its feed-forward FLOPs) is {per_step.mean():+.3f} nats/char ahead of the "
                f"MoE over {cfg.total_inits} paired init(s) (+0.03 to +0.06 at 300 steps): an MoE does not match a dense "
                f"model of its total size, and the gap narrows as training goes on")
    _plot_loss_vs_flops(curves, flops_per_step, points, out, result)


def loss_at_flops(flops: list[float], losses, at: float) -> float:
    """A loss-vs-FLOPs curve read at `at` FLOPs (linear in log FLOPs between evaluation points; before the first
    point it is held at the first loss, which flatters the curve, since loss still falls early in training)."""
    return float(np.interp(np.log(at), np.log(flops), losses))


def _plot_loss_vs_flops(curves, flops_per_step, points, out: Path, result: LabResult) -> None:
    fig, ax = plots.figure()
    for name, runs in curves.items():
        mean = np.mean(runs, axis=0)
        ax.plot([flops_per_step[name] * s for s in points], mean, "o-", label=name.replace("_", " "))
    ax.set(xscale="log", xlabel="training FLOPs", ylabel="validation nats / char", title="Loss vs training compute")
    ax.legend()
    result.artifact(plots.save(fig, out / "loss_vs_flops.png"))


# -- 6. expert parallelism ----------------------------------------------------------------------------------------
def _expert_parallel(result: LabResult, cfg: Config, out: Path) -> None:
    from modelbook.distributed.expert_parallel import off_rank_bytes_formula
    from modelbook.distributed.launch import launch

    world = 2
    config = {"d_model": cfg.ep_d_model, "d_expert": cfg.ep_d_expert, "n_experts": cfg.n_experts, "top_k": cfg.lm_top_k,
              "n_tokens": cfg.ep_tokens, "seed": cfg.seed}
    with progress.status("expert parallelism: 2 torchrun ranks"):
        res = launch("modelbook.distributed.expert_parallel", config, nproc=world, out=out / "expert_parallel",
                     timeout_s=cfg.ep_timeout_s)
    even, collapsed = res["even"], res["collapsed"]
    diff = max(r["max_diff_vs_single"] for r in even + collapsed)
    result.metric("ep/max_abs_diff_vs_one_process", diff)
    result.check(f"expert-parallel forward ({world} ranks, all-to-all dispatch and combine) vs the whole layer in one "
                 "process, max |diff|", diff, reference=0.0, tolerance=1e-5, kind="at_most",
                 source="the same layer computed in one process (exact by a different route)")
    formula = off_rank_bytes_formula(cfg.ep_tokens, cfg.lm_top_k, cfg.ep_d_model, 4, world)
    measured = float(np.mean([r["bytes_off_rank"] for r in even]))
    result.metric("ep/bytes_off_rank_even", measured, "B")
    result.metric("ep/bytes_off_rank_formula", formula, "B")
    result.check("bytes sent off-rank per MoE forward, even router: measured in the all-to-alls vs 2·N·k·d·4·(W−1)/W",
                 measured, reference=formula, tolerance=EP_BYTES_TOL, relative=True, kind="close",
                 source="GShard (Lepikhin et al. 2021) §2 / Switch §5 cost model: each assignment crosses to its expert's "
                        "rank and back")
    rows = [r["rows_computed"] for r in collapsed]
    result.metric("ep/collapsed_busiest_rank_share_of_expert_rows", max(rows) / sum(rows))
    result.metric("ep/even_busiest_rank_share_of_expert_rows", max(r["rows_computed"] for r in even) / sum(r["rows_computed"] for r in even))
    result.metric("ep/expert_bytes_per_rank", even[0]["bytes_expert_weights"], "B")
    result.metric("ep/expert_bytes_all", even[0]["bytes_all_experts"], "B")
    result.metric("ep/all_to_all_forward_s", max(r["seconds"] for r in even), "s", volatile=True)
    result.note(f"expert parallelism on {world} ranks: each rank holds {even[0]['bytes_expert_weights'] / 2**20:.1f} MiB of "
                f"the {even[0]['bytes_all_experts'] / 2**20:.1f} MiB of experts and sends {measured / 2**20:.1f} MiB per "
                f"MoE forward (formula {formula / 2**20:.1f}); with a collapsed router one rank computes "
                f"{max(rows) / sum(rows):.0%} of the expert rows while the other idles")
